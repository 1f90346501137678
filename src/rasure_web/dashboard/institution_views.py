"""Institution pages (D5): the register's list and each institution's figures and prevention plan.

Analysts, supervisors and administrators see them (the dashboard's roles); only analysts and
administrators edit a plan. Figures and plan rules: :mod:`rasure_web.analysis.institution_plans`.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from rasure_web import clock
from rasure_web.accounts.access import access_log_record
from rasure_web.accounts.roles import ADMIN, ANALYST, has_role
from rasure_web.accounts.tenancy import acting_force_id
from rasure_web.analysis import institution_plans as ip
from rasure_web.analysis.models import Institution, InstitutionPlan
from rasure_web.dashboard import selectors as sel


@login_required
def institutions_page(request: HttpRequest) -> HttpResponse:
    sel.require_dashboard(request.user)
    access_log_record(user=request.user, action="view", resource="institution_plan", request=request)
    return render(
        request,
        "dashboard/institutions.html",
        {"rows": ip.institution_list(tenant=acting_force_id(request.user))},
    )


@login_required
def institution_page(request: HttpRequest, pk: int) -> HttpResponse:
    sel.require_dashboard(request.user)
    inst = get_object_or_404(Institution, pk=pk, tenant_id=acting_force_id(request.user))
    may_edit = has_role(request.user, ANALYST, ADMIN)
    today = clock.now().date()
    plan = ip.plan_of(inst)
    status = 200
    error = ""
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied("Only analysts and administrators edit an institution's plan.")
        form = ip.PlanForm(request.POST, today=today)
        if form.is_valid():
            c = form.cleaned_data
            try:
                ip.plan_save(
                    inst=inst,
                    owner=c["owner"],
                    actions=c["actions"],
                    review_date=c["review_date"],
                    status=c["status"],
                    username=request.user.get_username(),
                    seen_version=c["version"],
                )
            except ip.StalePlanError as exc:
                error = f"Not saved: {exc}. The plan below is the saved one; make your change again."
                status = 409
                plan = ip.plan_of(inst)
                form = _form(plan, today)
            else:
                return redirect(f"/dashboard/institutions/{inst.pk}/?saved=1")
        else:
            status = 400
    else:
        form = _form(plan, today)
    access_log_record(
        user=request.user,
        action="view",
        resource="institution_plan",
        object_ref=str(inst.pk),
        request=request,
    )
    ctx = {
        "inst": inst,
        "note": ip.name_note(inst),
        "f": ip.institution_figures(inst),
        "plan": plan,
        "history": list(plan.versions.all()) if plan else [],
        "form": form,
        "may_edit": may_edit,
        "saved": request.GET.get("saved") == "1",
        "error": error,
    }
    return render(request, "dashboard/institution.html", ctx, status=status)


def _form(plan: InstitutionPlan | None, today: dt.date) -> ip.PlanForm:
    if plan is None:
        return ip.PlanForm(initial={"version": 0, "status": "draft"}, today=today)
    initial = {f: getattr(plan, f) for f in ("owner", "actions", "review_date", "status", "version")}
    return ip.PlanForm(initial=initial, today=today)
