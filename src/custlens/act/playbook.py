"""The playbook: which customers get which action, when, through which contact channel.

It lives in config as `[[actions.playbook]]` entries (a list in custlens.toml replaces
the default list whole). An action's audience is its trigger's population narrowed by
`classes` and `segments`:

- `always`: every customer of the audience, every plan (frequency caps keep it sane);
- `birthday`: a birthday (Gregorian or 农历) within `days` from the plan date;
- `before_campaign`: the next campaign of the calendar starts within `days`;
- `due`: a repeat buyer's next purchase is due within `days` (or overdue by at most `days`);
- `carted`: items carted (or favourited) in the last `days` days and not bought since;
- `membership`: a buyer of a membership-candidate product (ads_membership_invites).

Lower `priority` wins when a customer qualifies for several actions in one period.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from custlens.errors import CustlensError
from custlens.schema import CONTACT_CHANNELS

TRIGGERS = ("always", "birthday", "before_campaign", "due", "carted", "membership")
CLASSES = ("core", "low_repurchase", "intent", "browser")

DEFAULT_PLAYBOOK: list[dict[str, Any]] = [
    {"name": "birthday_gift", "label": "生日礼", "label_en": "Birthday gift",
     "trigger": "birthday", "days": 7, "classes": ["core"], "contact_channel": "gift",
     "priority": 10,
     "template": "{user_id}，生日快乐！店铺为您准备了一份生日礼物，{detail}前后下单即随单附赠。",
     "template_en": "Happy birthday, {user_id}! A gift from us comes with your order around {detail}."},
    {"name": "repurchase_gift", "label": "复购赠礼", "label_en": "Repurchase gift",
     "trigger": "due", "days": 14, "classes": ["core"], "contact_channel": "coupon",
     "priority": 20,
     "template": "{user_id}，您常买的商品该补货了（预计{detail}），本次复购随单赠送小礼品。",
     "template_en": "{user_id}, time to restock (due {detail}): your next order comes with a gift."},
    {"name": "winback_call", "label": "重要客户挽回", "label_en": "Win back a valued customer",
     "trigger": "always", "segments": ["重要挽留客户", "重要保持客户"],
     "contact_channel": "customer_service", "priority": 30,
     "template": "客服回访 {user_id}：询问近期体验，介绍新品与会员权益。",
     "template_en": "Service call to {user_id}: ask how things went, introduce new products."},
    {"name": "pre_campaign_sms", "label": "大促前短信", "label_en": "SMS before a campaign",
     "trigger": "before_campaign", "days": 7, "classes": ["low_repurchase"],
     "contact_channel": "sms", "priority": 40,
     "template": "【店铺】{detail}即将开始，您关注的好物大促价提前看，回TD退订。",
     "template_en": "{detail} starts soon: see the campaign prices early. Reply STOP to opt out."},
    {"name": "intent_service", "label": "意向客户服务", "label_en": "Service for intent customers",
     "trigger": "carted", "days": 30, "classes": ["intent"], "contact_channel": "customer_service",
     "priority": 50,
     "template": "客服联系 {user_id}：就加购/收藏的商品（{detail}）解答疑问、介绍商品。",
     "template_en": "Service contact with {user_id} about the carted items ({detail})."},
    {"name": "membership_invite", "label": "会员邀请", "label_en": "Membership invitation",
     "trigger": "membership", "classes": ["core", "low_repurchase"], "contact_channel": "sms",
     "priority": 60,
     "template": "【店铺】{user_id}，您常购的{detail}可加入会员，享专属价与定期配送，回TD退订。",
     "template_en": "{user_id}, join our membership for {detail}: member prices and regular delivery."},
]


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    label_en: str
    trigger: str
    contact_channel: str
    priority: int
    days: int = 7
    classes: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    holdout: float | None = None  # None: the [actions] default
    operators: tuple[str, ...] = ()
    template: str = ""
    template_en: str = ""

    def display(self, lang: str) -> str:
        return self.label if lang == "zh" else self.label_en

    def message(self, lang: str, **values: Any) -> str:
        text = self.template if lang == "zh" or not self.template_en else self.template_en
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError) as exc:
            raise CustlensError(f"actions.playbook {self.name}: template {text!r} cannot be "
                                f"filled ({exc})", hint="placeholders: {user_id}, {detail}, "
                                "{segment}, {class}") from exc


def _action(raw: dict[str, Any], where: str) -> Action:
    known = set(Action.__dataclass_fields__)
    if unknown := set(raw) - known:
        raise CustlensError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}",
                            hint=f"keys: {', '.join(sorted(known))}")
    for key in ("name", "trigger", "contact_channel", "priority"):
        if key not in raw:
            raise CustlensError(f"{where}: {key} is required")
    if raw["trigger"] not in TRIGGERS:
        raise CustlensError(f"{where}: trigger {raw['trigger']!r} is not one of {', '.join(TRIGGERS)}")
    if raw["contact_channel"] not in CONTACT_CHANNELS:
        raise CustlensError(f"{where}: contact_channel {raw['contact_channel']!r} is not one of "
                            f"{', '.join(CONTACT_CHANNELS)}")
    if bad := set(raw.get("classes", ())) - set(CLASSES):
        raise CustlensError(f"{where}: unknown class(es) {', '.join(sorted(bad))}",
                            hint=f"classes: {', '.join(CLASSES)}")
    holdout = raw.get("holdout")
    if holdout is not None and not 0 <= float(holdout) < 1:
        raise CustlensError(f"{where}: holdout must be a share in [0, 1), not {holdout!r}")
    return Action(
        name=str(raw["name"]), label=str(raw.get("label", raw["name"])),
        label_en=str(raw.get("label_en", raw.get("label", raw["name"]))),
        trigger=raw["trigger"], contact_channel=raw["contact_channel"],
        priority=int(raw["priority"]), days=int(raw.get("days", 7)),
        classes=tuple(raw.get("classes", ())), segments=tuple(raw.get("segments", ())),
        holdout=None if holdout is None else float(holdout),
        operators=tuple(raw.get("operators", ())), template=str(raw.get("template", "")),
        template_en=str(raw.get("template_en", "")),
    )


def load(settings_actions: dict[str, Any]) -> list[Action]:
    """The configured playbook, checked; sorted by priority (then name)."""
    entries = settings_actions.get("playbook") or DEFAULT_PLAYBOOK
    actions = [_action(dict(raw), f"actions.playbook[{i}]") for i, raw in enumerate(entries)]
    names = [a.name for a in actions]
    if dupes := {n for n in names if names.count(n) > 1}:
        raise CustlensError(f"actions.playbook: action name(s) used twice: {', '.join(sorted(dupes))}")
    return sorted(actions, key=lambda a: (a.priority, a.name))
