"""This project's Apprise notification plugins.

- Aliyun SMS (``aliyunsms://``) and Tencent Cloud SMS (``tencentsms://``), which Apprise lacks;
- Alertmanager (``alertmanager://``, ``alertmanagers://``), posting alerts to its v2 API;
- a webhook that receives the alert record itself as JSON (``alertjson://``, ``alertjsons://``);
- DingTalk (``dingtalk://``), WeCom bot (``wecombot://``), Feishu (``feishu://``) and Lark
  (``lark://``), which replace Apprise 2.2.0's plugins of the same schemes and URL forms: those
  double-encode DingTalk's signature, count a robot's error code in an HTTP 200 reply as success,
  send markdown to WeCom and Feishu as plain text, and glue the title onto the body.

Call :func:`register` once (more is harmless) before adding such URLs to an ``apprise.Apprise``.
"""

from __future__ import annotations

from apprise.manager_plugins import NotificationManager

from engine.notify.plugins.alertjson import NotifyAlertJson
from engine.notify.plugins.alertmanager import NotifyAlertmanager
from engine.notify.plugins.aliyun_sms import NotifyAliyunSms
from engine.notify.plugins.dingtalk import NotifyDingTalk
from engine.notify.plugins.feishu import NotifyFeishu, NotifyLark
from engine.notify.plugins.tencent_sms import NotifyTencentSms
from engine.notify.plugins.wecom import NotifyWeComBot

PLUGINS = (
    NotifyAliyunSms,
    NotifyTencentSms,
    NotifyDingTalk,
    NotifyWeComBot,
    NotifyFeishu,
    NotifyLark,
    NotifyAlertmanager,
    NotifyAlertJson,
)

__all__ = [
    "PLUGINS",
    "NotifyAlertJson",
    "NotifyAlertmanager",
    "NotifyAliyunSms",
    "NotifyDingTalk",
    "NotifyFeishu",
    "NotifyLark",
    "NotifyTencentSms",
    "NotifyWeComBot",
    "register",
]


def register() -> None:
    """Make this project's schemes known to Apprise in this process, ours taking precedence.

    Idempotent: a scheme already mapped to our class is left alone; one that is unknown, mapped
    to Apprise's own plugin or to something else (or dropped by an Apprise plugin reload), is
    (re)mapped to ours with ``force=True``.
    """
    manager = NotificationManager()  # Apprise's process-wide singleton, the same as apprise.N_MGR
    for plugin in PLUGINS:
        for schema in filter(None, (plugin.protocol, plugin.secure_protocol)):
            if schema in manager and manager[schema] is plugin:
                continue
            manager.add(plugin, schemas=schema, force=True)
