"""Django's own messages that its Chinese catalogue leaves untranslated, supplied by ours.

Our catalogues (LOCALE_PATHS) come before Django's, so a message listed here is shown in
Chinese wherever Django uses it: "- Select an option -" is the blank choice of every optional
select in the admin and in model forms (new in Django 6.0, not yet in its zh_Hans catalogue).
`scripts/zh_catalogue.py` writes these into the Chinese catalogue; the English one keeps them.
"""


def gettext_noop(message: str) -> str:
    """Marks a message for makemessages; Django's own would need settings, and
    `scripts/zh_catalogue.py` reads this module without them."""
    return message


# msgid → its Chinese.
CHINESE: dict[str, str] = {
    gettext_noop("- Select an option -"): "- 请选择 -",
}
