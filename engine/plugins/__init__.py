"""Apprise notification plugins that Apprise itself lacks: Aliyun SMS and Tencent Cloud SMS.

Call :func:`register` once (more is harmless) before adding ``aliyunsms://`` or
``tencentsms://`` URLs to an ``apprise.Apprise`` object.
"""

from __future__ import annotations

from apprise.manager_plugins import NotificationManager

from engine.plugins.aliyun_sms import NotifyAliyunSms
from engine.plugins.tencent_sms import NotifyTencentSms

PLUGINS = (NotifyAliyunSms, NotifyTencentSms)

__all__ = ["PLUGINS", "NotifyAliyunSms", "NotifyTencentSms", "register"]


def register() -> None:
    """Make ``aliyunsms://`` and ``tencentsms://`` known to Apprise in this process.

    Idempotent: a scheme already mapped to our class is left alone; one that is unknown, or was
    taken by something else (or dropped by an Apprise plugin reload), is (re)mapped to ours.
    """
    manager = NotificationManager()  # Apprise's process-wide singleton, the same as apprise.N_MGR
    for plugin in PLUGINS:
        schema = plugin.secure_protocol
        if schema in manager and manager[schema] is plugin:
            continue
        manager.add(plugin, schemas=schema, force=True)
