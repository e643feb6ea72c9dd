"""Django's own messages that its Chinese catalogue leaves untranslated, supplied by ours.

Our catalogues (LOCALE_PATHS) come before Django's, so a message listed here is shown in
Chinese wherever Django uses it: "- Select an option -" is the blank choice of every optional
select in the admin and in model forms (new in Django 6.0, not yet in its zh_Hans catalogue);
django-axes and django-tasks-db have no Chinese catalogue at all. One is mistranslated there:
"Null characters are not allowed." reads 不允许是用空字符串 ("no empty string", with a typo), which
tells a resident who pasted a text with a NUL character in it nothing they can act on.
`scripts/zh_catalogue.py` writes these into the Chinese catalogue; the English one keeps them.
"""


def gettext_noop(message: str) -> str:
    """Marks a message for makemessages; Django's own would need settings, and
    `scripts/zh_catalogue.py` reads this module without them."""
    return message


# msgid → its Chinese.
CHINESE: dict[str, str] = {
    gettext_noop("- Select an option -"): "- 请选择 -",
    # Every form's text field (ProhibitNullCharactersValidator): say what to do.
    gettext_noop("Null characters are not allowed."): "含有无法保存的空字符（NUL），请删除后再提交",
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
    # django-tasks-db (the production task queue, in the admin) has no catalogue either.
    gettext_noop("Task Result"): "任务结果",
    gettext_noop("Task Results"): "任务结果",
    gettext_noop("status"): "状态",
    gettext_noop("enqueued at"): "入队时间",
    gettext_noop("started at"): "开始时间",
    gettext_noop("finished at"): "完成时间",
    gettext_noop("args kwargs"): "参数",
    gettext_noop("priority"): "优先级",
    gettext_noop("task path"): "任务路径",
    gettext_noop("worker id"): "执行进程",
    gettext_noop("queue name"): "队列",
    gettext_noop("backend name"): "后端",
    gettext_noop("run after"): "计划执行时间",
    gettext_noop("return value"): "返回值",
    gettext_noop("exception class path"): "异常类型",
    gettext_noop("traceback"): "错误详情",
}
