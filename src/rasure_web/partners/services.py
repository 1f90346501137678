"""Services (writes) for partners: the demo's synthetic partner organisation and its agreement."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from rasure_web import clock
from rasure_web.accounts.models import Organisation
from rasure_web.crimes.models import Area
from rasure_web.partners.models import DataClass, DataSharingAgreement

DEMO_PARTNER_ORG = "DEMO-VRU"
DEMO_PARTNER_ORG_NAME = "Demo Town Violence Reduction Unit (synthetic)"
DEMO_AGREEMENT = "DSA-DEMO-001"
#: The demo agreement covers two of the synthetic city's three local policing areas, so the demo
#: shows a partner seeing its own areas only.
DEMO_AGREEMENT_LPAS = ("SYN-LPA-C", "SYN-LPA-N")


@transaction.atomic
def demo_partner_ensure() -> DataSharingAgreement | None:
    """The synthetic partner organisation and a live agreement (a month old, a year to run) over
    Central and North LPAs. Idempotent; the dates move with the clock so the demo stays live."""
    from rasure_web.accounts.models import Force
    from rasure_web.accounts.services import DEMO_FORCE

    areas = list(Area.objects.filter(kind=Area.Kind.LPA, code__in=DEMO_AGREEMENT_LPAS))
    if not areas:
        return None
    org, _ = Organisation.objects.update_or_create(
        code=DEMO_PARTNER_ORG,
        defaults={
            "name": DEMO_PARTNER_ORG_NAME,
            "kind": Organisation.Kind.VRU,
            "force": Force.objects.filter(code=DEMO_FORCE).first(),
        },
    )
    today = clock.local_today()
    agreement, _ = DataSharingAgreement.objects.update_or_create(
        reference=DEMO_AGREEMENT,
        defaults={
            "organisation": org,
            "purpose": "Synthetic demonstration: joint planning under the Serious Violence Duty (where and "
            "when serious violence concentrates, and what patrols are doing about it).",
            "data_classes": [c.value for c in DataClass],
            "starts_on": today - dt.timedelta(days=30),
            "expires_on": today + dt.timedelta(days=365),
            "signed_off_by": "A. Example, Data Protection Officer, Demo Town Police (synthetic)",
            "signed_off_on": today - dt.timedelta(days=31),
            "revoked_at": None,
        },
    )
    agreement.areas.set(areas)
    return agreement
