from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from clspdr.models import Role, User
from clspdr.permissions import ACTION_UPDATE_STATUS, has_perm
from clspdr.text import plain_text

if TYPE_CHECKING:
    from governance.models import Organisation


class Status(models.TextChoices):
    TODO = "todo", _("À lancer")
    IN_PROGRESS = "in_progress", _("En cours")
    DONE = "done", _("Réalisée")
    POSTPONED = "postponed", _("Reportée")
    ABANDONED = "abandoned", _("Abandonnée")


class Priority(models.TextChoices):
    HIGH = "high", _("Haute")
    MEDIUM = "medium", _("Moyenne")
    LOW = "low", _("Basse")


# Actions as the plan lists them (ActionQuerySet.in_plan_order); the admin orders by it too.
PLAN_ORDER = ("-axis__strategy__start_year", "axis__number", "position", "number")


class ActionQuerySet(models.QuerySet["Action"]):
    """Every list, export and count of actions starts from these: the rows a person may see or
    update, restricted at the source. The decisions on one action are in actions/access.py."""

    def visible_to(self, user: User) -> ActionQuerySet:
        return self if has_perm(user, "plan.view") else self.none()

    def updatable_by(self, user: User) -> ActionQuerySet:
        """What `user` may update: everything for the coordinator; for others the per-object
        exceptions (django-guardian) and, for a partner, what its organisation carries. One
        pk__in subquery each."""
        if not (user.is_authenticated and user.is_active):
            return self.none()
        if user.role == Role.COORDINATOR:
            return self
        codename = ACTION_UPDATE_STATUS.codename
        # EXISTS, correlated with each row of the caller's (already narrowed) queryset: an
        # IN (subquery) would list every action of every council first (docs/performance.md).
        granted = models.Exists(
            ActionUserObjectPermission.objects.filter(
                content_object=models.OuterRef("pk"), user=user, permission__codename=codename
            )
        ) | models.Exists(
            ActionGroupObjectPermission.objects.filter(
                content_object=models.OuterRef("pk"),
                group__user=user,
                permission__codename=codename,
            )
        )
        if user.role == Role.PARTNER and user.organisation_id:
            granted |= _carried_by(user.organisation_id)
        return self.filter(granted)

    def any_updatable_by(self, user: User) -> bool:
        """`updatable_by(user).exists()` on the whole plan, answered from the grants and the
        carriers' indexes in one query, instead of walking every action of the deployment
        until one matches (docs/performance.md)."""
        if not (user.is_authenticated and user.is_active):
            return False
        if user.role == Role.COORDINATOR:
            return self.exists()
        codename = ACTION_UPDATE_STATUS.codename
        grounds = models.Q(
            models.Exists(
                ActionUserObjectPermission.objects.filter(user=user, permission__codename=codename)
            )
        ) | models.Q(
            models.Exists(
                ActionGroupObjectPermission.objects.filter(
                    group__user=user, permission__codename=codename
                )
            )
        )
        if user.role == Role.PARTNER and user.organisation_id:
            organisation_id = user.organisation_id
            grounds |= models.Q(
                models.Exists(Action.objects.filter(lead_organisation_id=organisation_id))
            ) | models.Q(
                models.Exists(ActionContributor.objects.filter(organisation_id=organisation_id))
            )
        return User.objects.filter(pk=user.pk).filter(grounds).exists()

    def in_plan_order(self) -> ActionQuerySet:
        """The order of the plan: latest strategy first, then axis, position and number.
        Explicit, as the joins it needs have no place in the model's default ordering."""
        return self.order_by(*PLAN_ORDER)

    def carried_by(self, organisation_id: int) -> ActionQuerySet:
        """Actions an organisation leads or contributes to: an EXISTS per row, so the cost
        follows the rows asked for, not the size of the deployment."""
        return self.filter(_carried_by(organisation_id))


def _carried_by(organisation_id: int) -> models.Q:
    contributes = ActionContributor.objects.filter(
        action=models.OuterRef("pk"), organisation_id=organisation_id
    )
    return models.Q(lead_organisation_id=organisation_id) | models.Q(models.Exists(contributes))


class Action(models.Model):
    """A numbered action of a strategy axis, with its sheet (fiche-action)."""

    axis = models.ForeignKey(
        "axes.Axis", on_delete=models.CASCADE, related_name="actions", verbose_name=_("axe")
    )
    number = models.CharField(_("numéro"), max_length=10, validators=[plain_text])
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)
    title = models.CharField(_("intitulé"), max_length=300, validators=[plain_text])
    description = models.TextField(_("description"), blank=True, validators=[plain_text])
    lead_organisation = models.ForeignKey(
        "governance.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="led_actions",
        verbose_name=_("pilote"),
    )
    contributors: models.ManyToManyField[Organisation, ActionContributor] = models.ManyToManyField(
        "governance.Organisation",
        through="ActionContributor",
        blank=True,
        related_name="contributed_actions",
        verbose_name=_("partenaires contributeurs"),
    )
    target_public = models.TextField(_("public cible"), blank=True, validators=[plain_text])
    territory = models.CharField(
        _("territoire"), max_length=300, blank=True, validators=[plain_text]
    )
    objectives = models.TextField(_("objectifs"), blank=True, validators=[plain_text])
    means = models.TextField(_("moyens mobilisés"), blank=True, validators=[plain_text])
    priority = models.CharField(_("priorité"), max_length=10, choices=Priority.choices, blank=True)
    indicators = models.TextField(
        _("indicateurs d'évaluation"), blank=True, validators=[plain_text]
    )
    start_date = models.DateField(_("date de début"), null=True, blank=True)
    end_date = models.DateField(_("date de fin"), null=True, blank=True)
    status = models.CharField(
        _("statut"), max_length=20, choices=Status.choices, default=Status.TODO
    )
    progress = models.PositiveSmallIntegerField(
        _("avancement (%)"), default=0, validators=[MaxValueValidator(100)]
    )
    # Optimistic locking: every write goes through a service that bumps it.
    version = models.PositiveIntegerField(default=1, editable=False)
    last_update_at = models.DateTimeField(_("dernière mise à jour"), null=True, blank=True)
    # Who wrote the current version (status update or sheet edit): named in conflict messages.
    modified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("modifiée par"),
    )
    modified_at = models.DateTimeField(_("modifiée le"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ActionQuerySet.as_manager()

    class Meta:
        # Own columns only, so that no query joins for a default order (here and below): the
        # plan's order is asked for explicitly, with in_plan_order().
        ordering = ["axis_id", "position", "number"]
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        constraints = [
            models.UniqueConstraint(fields=["axis", "number"], name="unique_action_number"),
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="action_progress_max_100"
            ),
        ]
        indexes = [models.Index(fields=["last_update_at"])]
        permissions = [
            (ACTION_UPDATE_STATUS.codename, "Peut mettre à jour l'avancement de l'action")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def code(self) -> str:
        """ "1.3" for action 3 of axis 1 — needs axis loaded (select_related)."""
        return f"{self.axis.number}.{self.number}"


class ActionContributor(models.Model):
    """One organisation contributing to one action (the rows of `Action.contributors`).

    Named rather than left to Django so that its link to the organisation is PROTECT: deleting
    an organisation that contributes would otherwise drop it from the action without a version
    bump or a trace, and take its partners' update rights with it (docs/plan-integrity.md).
    """

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(
        "governance.Organisation",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("organisation"),
    )

    class Meta:
        # The table Django created for the implicit relation, kept as it was: unique_together
        # is what names its unique index the way it is named in the database.
        db_table = "actions_action_contributors"
        unique_together = [("action", "organisation")]
        verbose_name = _("partenaire contributeur")
        verbose_name_plural = _("partenaires contributeurs")

    def __str__(self) -> str:
        return f"{self.organisation} contribue à l'action « {self.action} »"


class ActionUserObjectPermission(UserObjectPermissionBase):
    """Direct-FK guardian table: per-action exceptions granted to one person."""

    content_object = models.ForeignKey(Action, on_delete=models.CASCADE)


class ActionGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Action, on_delete=models.CASCADE)


class SubList(models.Model):
    """A list of points that details an action, kept as written (e.g. axis 3's
    "Améliorer la tranquillité publique et résidentielle" 1-5)."""

    action = models.ForeignKey(
        Action, on_delete=models.CASCADE, related_name="sublists", verbose_name=_("action")
    )
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)
    title = models.CharField(_("titre"), max_length=300, validators=[plain_text])
    intro = models.TextField(_("introduction"), blank=True, validators=[plain_text])

    class Meta:
        ordering = ["action_id", "position"]
        verbose_name = _("liste de sous-actions")
        verbose_name_plural = _("listes de sous-actions")
        constraints = [
            models.UniqueConstraint(fields=["action", "title"], name="unique_sublist_title"),
        ]

    def __str__(self) -> str:
        return self.title


class SubAction(models.Model):
    sublist = models.ForeignKey(
        SubList, on_delete=models.CASCADE, related_name="items", verbose_name=_("liste")
    )
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)
    number = models.CharField(_("numéro"), max_length=10, blank=True, validators=[plain_text])
    title = models.CharField(_("intitulé"), max_length=300, validators=[plain_text])
    description = models.TextField(_("description"), blank=True, validators=[plain_text])

    class Meta:
        ordering = ["sublist_id", "position"]
        verbose_name = _("sous-action")
        verbose_name_plural = _("sous-actions")
        constraints = [
            models.UniqueConstraint(fields=["sublist", "title"], name="unique_subaction_title"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}".strip()


class Funding(models.Model):
    """Budget of an action for one year and one funder (Ville, FIPD, CAF...)."""

    action = models.ForeignKey(
        Action, on_delete=models.CASCADE, related_name="fundings", verbose_name=_("action")
    )
    year = models.PositiveSmallIntegerField(_("année"))
    funder = models.CharField(_("financeur"), max_length=150, validators=[plain_text])
    amount = models.DecimalField(_("montant (€)"), max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["action_id", "year", "funder"]
        verbose_name = _("financement")
        verbose_name_plural = _("financements")
        constraints = [
            models.UniqueConstraint(fields=["action", "year", "funder"], name="unique_funding"),
        ]

    def __str__(self) -> str:
        return f"{self.year} — {self.funder} : {self.amount} €"


class StatusUpdateQuerySet(models.QuerySet["StatusUpdate"]):
    def visible_to(self, user: User) -> StatusUpdateQuerySet:
        """The updates of the actions `user` may see (`ActionQuerySet.visible_to`), decided
        once for the person as that one is, not by a semi-join on the actions: the planner
        would misjudge it and walk the strategy's whole history (docs/performance.md)."""
        return self if has_perm(user, "plan.view") else self.none()


class StatusUpdate(models.Model):
    """One update of an action's status and progress, kept forever with its author."""

    action = models.ForeignKey(
        Action, on_delete=models.CASCADE, related_name="updates", verbose_name=_("action")
    )
    # The action's strategy, copied at write time (services.action_update_status; the admin
    # keeps it when it moves an action): "latest updates" of one strategy read its own index
    # range instead of walking every council's history backwards (docs/performance.md).
    strategy = models.ForeignKey(
        "axes.Strategy",
        on_delete=models.CASCADE,
        related_name="+",
        editable=False,
        db_index=False,  # statusupdate_strategy_latest begins with it
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="status_updates",
        verbose_name=_("auteur"),
    )
    author_organisation = models.ForeignKey(
        "governance.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organisation de l'auteur"),
    )
    created_at = models.DateTimeField(_("date"), db_index=True)
    previous_status = models.CharField(max_length=20, choices=Status.choices)
    previous_progress = models.PositiveSmallIntegerField()
    status = models.CharField(_("statut"), max_length=20, choices=Status.choices)
    progress = models.PositiveSmallIntegerField(_("avancement (%)"))
    comment = models.TextField(_("commentaire"), blank=True, validators=[plain_text])

    objects = StatusUpdateQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("mise à jour")
        verbose_name_plural = _("mises à jour")
        indexes = [
            models.Index(fields=["action", "-created_at"]),
            models.Index(
                fields=["strategy", "-created_at", "-id"], name="statusupdate_strategy_latest"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action_id} {self.created_at:%Y-%m-%d} {self.status} {self.progress} %"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The copy of the action's strategy, for whoever creates an update without naming it
        # (fixtures, scripts); bulk_create, which skips this, is refused by the NOT NULL.
        if self.strategy_id is None:
            self.strategy_id = self.action.axis.strategy_id
        super().save(*args, **kwargs)


class _SheetHistoryEntry(models.Model):
    """Who changed an action's sheet or carriers, for whom, and when: what CarrierChange and
    SheetChange share (each keeps its own `action` link and indexes)."""

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("auteur"),
    )
    author_organisation = models.ForeignKey(
        "governance.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organisation de l'auteur"),
    )
    created_at = models.DateTimeField(_("date"))

    class Meta:
        abstract = True


class CarrierChange(_SheetHistoryEntry):
    """A change of who carries an action (its lead, its contributors), kept forever with its
    author, beside the status updates: carriers decide which partners may update the action.

    Names are copied as they were, so that the history reads the same after an organisation is
    renamed or archived. A lead left unchanged is stored as two blanks.
    """

    action = models.ForeignKey(
        Action, on_delete=models.CASCADE, related_name="carrier_changes", verbose_name=_("action")
    )
    previous_lead = models.CharField(
        _("pilote avant"), max_length=200, blank=True, validators=[plain_text]
    )
    lead = models.CharField(_("pilote après"), max_length=200, blank=True, validators=[plain_text])
    added = models.JSONField(_("contributeurs ajoutés"), default=list, blank=True)
    removed = models.JSONField(_("contributeurs retirés"), default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("changement de porteurs")
        verbose_name_plural = _("changements de porteurs")
        indexes = [models.Index(fields=["action", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.action_id} {self.created_at:%Y-%m-%d} porteurs"

    @property
    def lead_changed(self) -> bool:
        return self.previous_lead != self.lead


class SheetChange(_SheetHistoryEntry):
    """A change of one field of an action's sheet (or of its budget, field "fundings"), kept
    forever with its author, beside the status updates and the carrier changes. Written by
    `action_edit_sheet`; the carriers (lead, contributors) are CarrierChange's.

    Values are copied as they were shown (a date as 01/03/2024, a priority by its label), so
    that the history reads the same whatever happens to the sheet afterwards.
    """

    action = models.ForeignKey(
        Action, on_delete=models.CASCADE, related_name="sheet_changes", verbose_name=_("action")
    )
    field = models.CharField(_("champ"), max_length=30, validators=[plain_text])
    previous = models.TextField(_("avant"), blank=True, validators=[plain_text])
    value = models.TextField(_("après"), blank=True, validators=[plain_text])

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("modification de la fiche")
        verbose_name_plural = _("modifications de la fiche")
        indexes = [models.Index(fields=["action", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.action_id} {self.created_at:%Y-%m-%d} {self.field}"

    @property
    def field_label(self) -> str:
        if self.field == "fundings":
            return "Budget"
        field = Action._meta.get_field(self.field)
        return capfirst(str(getattr(field, "verbose_name", self.field)))


class ReminderStatus(models.TextChoices):
    PENDING = "pending", _("à envoyer")
    SENDING = "sending", _("envoi en cours")
    SENT = "sent", _("envoyée")
    FAILED = "failed", _("abandonnée après échecs")


class ReminderKind(models.TextChoices):
    ORGANISATION = "organisation", _("relance d'une organisation")
    DIGEST = "digest", _("récapitulatif de la coordination")


class ReminderSent(models.Model):
    """A weekly e-mail of the reminders, claimed before it goes out so that re-running the job
    (beat, a retry, an acks_late re-delivery) never sends it twice: one row per organisation
    reminded of its stale actions and ISO week, and one row per week for the coordination's
    digest (no organisation). The row's life is in actions/reminders.py."""

    kind = models.CharField(
        _("type"), max_length=12, choices=ReminderKind.choices, default=ReminderKind.ORGANISATION
    )
    organisation = models.ForeignKey(
        "governance.Organisation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organisation"),
    )
    week_start = models.DateField(_("semaine du"))
    status = models.CharField(
        _("état"), max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0)
    # The Celery task that may work on the row, until `locked_until`: a retry or a re-delivery
    # of that task (same id) takes it up again; any other task waits for the lock to expire.
    task_id = models.CharField(max_length=64, blank=True, validators=[plain_text])
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(
        _("dernière erreur"), max_length=300, blank=True, validators=[plain_text]
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    sent_at = models.DateTimeField(_("envoyée le"), null=True, blank=True)
    action_count = models.PositiveSmallIntegerField(_("nombre d'actions"))

    class Meta:
        ordering = ["-week_start", "organisation_id"]
        verbose_name = _("relance hebdomadaire")
        verbose_name_plural = _("relances hebdomadaires")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "week_start"], name="unique_reminder_per_week"
            ),
            models.UniqueConstraint(
                fields=["week_start"],
                condition=models.Q(kind="digest"),
                name="unique_digest_per_week",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="organisation", organisation__isnull=False)
                | models.Q(kind="digest", organisation__isnull=True),
                name="reminder_organisation_iff_not_digest",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.week_start:%Y-%m-%d} {self.status}"
