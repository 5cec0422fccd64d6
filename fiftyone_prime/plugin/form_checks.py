"""Checks the plugin's forms make before an operator runs, so that a bad
value is one line in the form rather than a traceback from the operator."""

from __future__ import annotations


def tags_field_error(ctx) -> dict:
    """``invalid``/``error_message`` for the tag form's ``tags_field`` when it
    names an existing field that is not a ``Classifications`` field (the
    form then refuses it in one line instead of the operator failing)."""
    import fiftyone as fo

    from fiftyone_prime.core.defaults import TAGS_FIELD

    name = ctx.params.get("tags_field") or TAGS_FIELD
    try:
        field = ctx.target_view().get_field(name)
    except Exception:
        return {}
    if field is None or (
        isinstance(field, fo.EmbeddedDocumentField)
        and issubclass(field.document_type, fo.Classifications)
    ):
        return {}
    return {
        "invalid": True,
        "error_message": f"'{name}' exists and is not a Classifications field "
        f"({type(field).__name__}); choose another field name",
    }
