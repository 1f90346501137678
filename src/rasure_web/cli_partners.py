"""``rasure partners import FILE --org CODE [--force CODE]``: a partner's anonymised emergency-department
assaults, loaded for the force the organisation has a live data-sharing agreement with.

Exit codes: 0 loaded; 1 the file was refused (nothing loaded); 2 wrong usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def cmd_partners_import(args: argparse.Namespace) -> int:
    from rasure_web.cli import open_database

    open_database()
    from rasure.errors import InputFileError, InvalidRowsError
    from rasure_web.accounts.services import write_problems
    from rasure_web.accounts.tenancy import ForceChoiceError
    from rasure_web.cli import print_problems
    from rasure_web.partners.services import PartnerImportError, partner_import

    try:
        upload = partner_import(
            path=args.file,
            org_code=args.org,
            username=f"cli:{os.environ.get('USER', '') or 'unknown'}",
            force=args.force,
        )
    except (InputFileError, PartnerImportError, ForceChoiceError) as exc:
        print(f"REJECTED (nothing was loaded): {exc}", file=sys.stderr)
        return 1
    except InvalidRowsError as exc:
        print(f"REJECTED (nothing was loaded): {exc}", file=sys.stderr)
        print_problems(exc.problems, limit=50)
        if args.errors_out:
            n = write_problems(exc.problems, args.errors_out)
            print(f"{n} problem(s) written to {args.errors_out}", file=sys.stderr)
        return 1
    print(
        f"Loaded {upload.rows} assault(s) from {upload.filename} for {upload.organisation.code} "
        f"(force {upload.tenant.code}, agreement {upload.agreement.reference if upload.agreement else '-'}): "
        f"{upload.located} placed in a neighbourhood, {upload.rows - upload.located} not placed "
        "(kept and counted, left off maps)."
    )
    return 0


def add_partner_commands(sub: Any) -> None:
    from rasure_web.cli import add_force_option

    p = sub.add_parser("partners", help="partner organisations' data")
    psub = p.add_subparsers(dest="partners_cmd", required=True)
    imp = psub.add_parser(
        "import", help="load anonymised emergency-department assault data (see docs/partners.md)"
    )
    imp.add_argument("file", help="CSV: date,time,location,latitude,longitude,weapon,assault")
    imp.add_argument("--org", required=True, metavar="CODE", help="the partner organisation's code")
    imp.add_argument("--errors-out", metavar="FILE", help="write every problem to this CSV")
    add_force_option(imp)
    imp.set_defaults(func=cmd_partners_import)
