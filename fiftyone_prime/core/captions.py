"""The caption of a failure mode: the sentence CLIP metrics compare with its images."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

#: The default caption of a failure mode, with ``{cls}`` and ``{tags}``.
DEFAULT_CAPTION_TEMPLATE = "a photo of a {cls} with {tags}"


def check_template(template: str) -> None:
    """Raises unless a caption template names the class or the tags, and
    only them: ``{cls}`` and ``{tags}`` with no format spec or conversion
    (``{cls:>10000000}`` would make a 10 MB caption), literal braces doubled
    (``{{``), and at most :data:`~fiftyone_prime.core.defaults.MAX_CAPTION_CHARS`
    characters."""
    import string

    from .defaults import MAX_CAPTION_CHARS

    if not isinstance(template, str):
        raise TypeError(f"`caption_template` must be a string; got {_short(template)}")
    if len(template) > MAX_CAPTION_CHARS:
        raise ValueError(
            f"`caption_template` must be at most {MAX_CAPTION_CHARS} characters; "
            f"got {len(template)}"
        )
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise ValueError(
            f"`caption_template` {_short(template)} is not a valid template ({error}); "
            "write a literal brace as {{ or }}"
        ) from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in ("cls", "tags"):
            raise ValueError(
                f"`caption_template` may only use {{cls}} and {{tags}}; got {{{field}}} in "
                f"{_short(template)} (write a literal brace as {{{{ or }}}})"
            )
        if spec or conversion:
            raise ValueError(
                f"`caption_template` takes {{cls}} and {{tags}} without a format spec or "
                f"conversion; got {_short(template)}"
            )
    if not any(field in ("cls", "tags") for _, field, _, _ in parsed):
        raise ValueError(
            f"`caption_template` must contain {{cls}} and/or {{tags}}; got {_short(template)}"
        )


def _short(text, limit: int = 80) -> str:
    text = repr(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def caption(group: Hashable, tags: Sequence[str], template: str = DEFAULT_CAPTION_TEMPLATE) -> str:
    """``template`` with ``{cls}`` (underscores as spaces) and ``{tags}``
    (joined as "a, b and c") filled in."""
    from .defaults import MAX_CAPTION_CHARS

    check_template(template)
    tags = list(tags)
    joined = tags[0] if len(tags) == 1 else ", ".join(tags[:-1]) + " and " + tags[-1]
    return template.format(cls=str(group).replace("_", " "), tags=joined)[:MAX_CAPTION_CHARS]


#: Where a failure mode's caption came from, as stored in ``metrics["caption_source"]``.
CAPTION_SOURCES = ("template", "callable", "dict")


def resolve_captions(
    modes: Sequence,
    captions=None,
    template: str = DEFAULT_CAPTION_TEMPLATE,
    *,
    key=lambda mode: mode.view_name,
) -> list[tuple[str, str]]:
    """The caption of each failure mode and where it came from.

    Args:
        modes: the failure modes (objects with ``group`` and ``caption_tags``)
        captions (None): ``None`` (every caption from ``template``), a
            callable ``mode -> text`` (e.g. a language model or a person's
            lookup; ``None`` or ``""`` falls back to the template), or a
            ``{key: text}`` dict (modes without an entry use the template)
        template: the caption template, with ``{cls}`` and ``{tags}``
        key: the dict key of a mode (its saved view's name)

    Returns:
        ``[(text, source)]`` per mode, ``source`` in :data:`CAPTION_SOURCES`

    Raises:
        TypeError: if ``captions`` is none of these, or a caption is not text
        ValueError: if a dict names no mode of the run (a typo would
            otherwise silently fall back to the template)
    """
    check_template(template)
    if captions is not None and not callable(captions) and not isinstance(captions, dict):
        raise TypeError(
            f"`captions` must be None, a callable (failure mode -> text) or a {{view name: "
            f"text}} dict; got {type(captions).__name__}"
        )
    if isinstance(captions, dict):
        known = {key(m) for m in modes}
        unknown = sorted(str(k) for k in captions if k not in known)
        if unknown:
            raise ValueError(
                f"`captions` names {len(unknown)} views that are not failure modes of this run: "
                f"{unknown[:5]}; the run's views are {sorted(str(k) for k in known if k)[:5]}..."
            )
    out = []
    for mode in modes:
        default = caption(mode.group, mode.caption_tags, template)
        if captions is None:
            out.append((default, "template"))
            continue
        text = captions(mode) if callable(captions) else captions.get(key(mode))
        if text is None or text == "":
            out.append((default, "template"))
        elif not isinstance(text, str):
            raise TypeError(
                f"The caption of failure mode {key(mode)!r} must be text; got {type(text).__name__}"
            )
        else:
            out.append((text, "callable" if callable(captions) else "dict"))
    return out
