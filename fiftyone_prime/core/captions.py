"""The caption of a failure mode: the sentence CLIP metrics compare with its images."""

from __future__ import annotations

from typing import Hashable, Sequence

#: The default caption of a failure mode, with ``{cls}`` and ``{tags}``.
DEFAULT_CAPTION_TEMPLATE = "a photo of a {cls} with {tags}"


def check_template(template: str) -> None:
    """Raises unless a caption template names the class or the tags."""
    if not isinstance(template, str) or ("{cls}" not in template and "{tags}" not in template):
        raise ValueError(
            f"`caption_template` must contain {{cls}} and/or {{tags}}; got {template!r}"
        )


def caption(group: Hashable, tags: Sequence[str],
            template: str = DEFAULT_CAPTION_TEMPLATE) -> str:
    """``template`` with ``{cls}`` (underscores as spaces) and ``{tags}``
    (joined as "a, b and c") filled in."""
    tags = list(tags)
    joined = tags[0] if len(tags) == 1 else ", ".join(tags[:-1]) + " and " + tags[-1]
    return template.format(cls=str(group).replace("_", " "), tags=joined)
