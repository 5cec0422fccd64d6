"""Reading a search's inputs out of FiftyOne: fields, evaluation units, the
fast BSON reader and the input cache; object crops. The lowest layer of the
integration: it imports only the core."""
