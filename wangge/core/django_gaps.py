"""Django's own messages that its Chinese catalogue leaves untranslated, supplied by ours.

Our catalogues (LOCALE_PATHS) come before Django's, so a message listed here is shown in
Chinese wherever Django uses it: "- Select an option -" is the blank choice of every optional
select in the admin and in model forms (new in Django 6.0, not yet in its zh_Hans catalogue);
django-axes has no Chinese catalogue at all.
`scripts/zh_catalogue.py` writes these into the Chinese catalogue; the English one keeps them.
"""


def gettext_noop(message: str) -> str:
    """Marks a message for makemessages; Django's own would need settings, and
    `scripts/zh_catalogue.py` reads this module without them."""
    return message


# msgid → its Chinese.
CHINESE: dict[str, str] = {
    gettext_noop("- Select an option -"): "- 请选择 -",
    # django-axes (login attempts and lockouts in the admin) has no Chinese catalogue.
    gettext_noop("access attempt"): "登录尝试",
    gettext_noop("access attempts"): "登录尝试",
    gettext_noop("access failure"): "登录失败",
    gettext_noop("access failures"): "登录失败",
    gettext_noop("access log"): "登录记录",
    gettext_noop("access logs"): "登录记录",
    gettext_noop("Access lock out"): "登录锁定",
    gettext_noop("Attempt Time"): "尝试时间",
    gettext_noop("Logout Time"): "退出时间",
    gettext_noop("Failed Logins"): "失败次数",
    gettext_noop("IP Address"): "IP 地址",
    gettext_noop("User Agent"): "浏览器标识",
    gettext_noop("HTTP Accept"): "HTTP Accept 请求头",
    gettext_noop("Path"): "路径",
    gettext_noop("Form Data"): "表单数据",
    gettext_noop("Meta Data"): "元数据",
    gettext_noop("GET Data"): "GET 数据",
    gettext_noop("POST Data"): "POST 数据",
}
