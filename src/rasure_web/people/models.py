"""Reviews and problem-solving plans for people on the hot-people lists, and the permission to see them.

People themselves are :class:`rasure_web.crimes.models.Person` (they come in with the force export).
"""

from __future__ import annotations

from django.db import models

from rasure_web import clock
from rasure_web.crimes.models import Person


class PersonReview(models.Model):
    """One human review of a person's entries. The latest review counts; earlier ones are kept as history."""

    class Decision(models.TextChoices):
        KEEP = "keep", "Keep on the lists until the next review"
        REMOVE = "remove", "Remove from the lists"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="reviews")
    reviewed_at = models.DateTimeField(default=clock.now)
    reviewed_on = models.DateField()
    username = models.CharField(max_length=150)
    decision = models.CharField(max_length=8, choices=Decision.choices)
    note = models.TextField()

    class Meta:
        db_table = "person_review"
        ordering = ["-reviewed_on", "-reviewed_at", "-pk"]
        permissions = [
            ("intelligence", "Can see named people: hot-people lists, person pages and their export"),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.decision} on {self.reviewed_on}"


class ProblemSolvingPlan(models.Model):
    """The plan agreed for one person: who owns it, which partners are involved, what is done, when reviewed."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="plan")
    owner = models.CharField(max_length=200)
    partner_agencies = models.TextField(blank=True)
    actions = models.TextField()
    review_date = models.DateField()
    updated_at = models.DateTimeField(default=clock.now)
    updated_by = models.CharField(max_length=150)

    class Meta:
        db_table = "problem_solving_plan"

    def __str__(self) -> str:
        return f"Plan for {self.person}"
