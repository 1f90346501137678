"""The programme around the patrols (S3–S6): funded operations, training records and the seven-step model.

Entered by analysts and administrators (Django admin); shown on the programme page and counted by
``rasure programme outputs``. Every figure on the page is computed from these rows and the patrol data,
never typed in.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models


class Operation(models.Model):
    """A funded operation (S4): where, when, with what money and aim, what justified it, what it did."""

    force = models.ForeignKey("accounts.Force", on_delete=models.PROTECT, related_name="operations")
    name = models.CharField(max_length=200)
    lpa_code = models.CharField(max_length=64, blank=True, default="", help_text="local policing area code")
    start = models.DateField()
    end = models.DateField(null=True, blank=True, help_text="blank while the operation is running")
    budget_gbp = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
        help_text="funding in £",
    )
    aim = models.TextField(help_text="what the operation is for, in plain words")
    analysis_run = models.ForeignKey(
        "analysis.AnalysisRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the hot-spot analysis that justified it",
    )
    hotspots = models.ManyToManyField("analysis.HotSpot", blank=True, related_name="+")
    activities = models.TextField(blank=True, help_text="what was done, one per line")
    results = models.TextField(blank=True, help_text="what came of it, one per line")
    synthetic = models.BooleanField(default=False, help_text="made up for the demo")

    class Meta:
        db_table = "programme_operation"
        ordering = ["-start", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__isnull=True) | models.Q(end__gte=models.F("start")),
                name="operation_end_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def funded(self) -> bool:
        return self.budget_gbp > 0


class Course(models.Model):
    """A training course (S5): hot-spot policing, the app, a refresher, or one for licensed-premises staff."""

    class Kind(models.TextChoices):
        HOT_SPOT_POLICING = "hot_spot_policing", "Hot-spot policing"
        APP = "app", "The patrol app"
        REFRESHER = "refresher", "Refresher"
        LICENSED_PREMISES = "licensed_premises", "Licensed-premises staff"
        OTHER = "other", "Other"

    force = models.ForeignKey("accounts.Force", on_delete=models.PROTECT, related_name="courses")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    refresher_months = models.PositiveIntegerField(
        null=True, blank=True, help_text="months until a refresher is due (blank: none)"
    )

    class Meta:
        db_table = "programme_course"
        ordering = ["force__code", "name"]

    def __str__(self) -> str:
        return self.name


class TrainingRecord(models.Model):
    """One attendance: a Rasure user (officer or staff) or a non-police attendee named here."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="records")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    attendee_name = models.CharField(
        max_length=200, blank=True, default="", help_text="for attendees without an account (e.g. door staff)"
    )
    attendee_organisation = models.CharField(max_length=200, blank=True, default="")
    attended_on = models.DateField()
    synthetic = models.BooleanField(default=False)

    class Meta:
        db_table = "programme_training_record"
        ordering = ["-attended_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | ~models.Q(attendee_name=""),
                name="training_record_has_attendee",
            )
        ]

    def __str__(self) -> str:
        who = self.user.get_username() if self.user_id else self.attendee_name
        return f"{who}: {self.course} ({self.attended_on})"


class ModelStep(models.Model):
    """One step of the force's delivery model (S6), e.g. the seven steps; configurable per force."""

    force = models.ForeignKey("accounts.Force", on_delete=models.PROTECT, related_name="model_steps")
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    class Meta:
        db_table = "programme_model_step"
        ordering = ["force__code", "number"]
        constraints = [models.UniqueConstraint(fields=["force", "number"], name="model_step_number_unique")]

    def __str__(self) -> str:
        return f"{self.number}. {self.name}"


class StepStatus(models.Model):
    """Where one local policing area stands on one step, with its evidence and date."""

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        IN_PROGRESS = "in_progress", "In progress"
        IN_PLACE = "in_place", "In place"

    step = models.ForeignKey(ModelStep, on_delete=models.CASCADE, related_name="statuses")
    lpa_code = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NOT_STARTED)
    evidence = models.TextField(blank=True)
    as_of = models.DateField()

    class Meta:
        db_table = "programme_step_status"
        ordering = ["step__number", "lpa_code"]
        constraints = [models.UniqueConstraint(fields=["step", "lpa_code"], name="step_status_lpa_unique")]

    def __str__(self) -> str:
        return f"{self.lpa_code} step {self.step.number}: {self.get_status_display()}"


class ForceProgrammeSetting(models.Model):
    """A force's choices for the programme pages. Without a row every choice is off."""

    force = models.OneToOneField("accounts.Force", on_delete=models.CASCADE, related_name="programme_setting")
    peer_recognition = models.BooleanField(
        default=False,
        help_text=(
            "Show officers a recognition table with their colleagues' names (the most visits at the target "
            "dose in the last 4 weeks). Off: no page shows colleagues' names in a ranking."
        ),
    )

    class Meta:
        db_table = "programme_force_setting"

    def __str__(self) -> str:
        return f"Programme settings for {self.force}"
