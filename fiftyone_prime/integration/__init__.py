"""FiftyOne glue: reading arrays from views, runs, saved views.

Imports fiftyone; never imports torch.
"""
