"""factory_boy factories for the whole project."""

from __future__ import annotations

from collections.abc import Iterable

import factory
from django.utils import timezone

from actions.models import Action, StatusUpdate
from axes.models import Axis, Strategy
from clspdr.models import Role, User
from governance.models import Body, BodyKind, Cadence, Membership, Organisation, OrganisationKind

PASSWORD = "correct-horse-battery-staple"  # 12+ characters, not a common password


class OrganisationFactory(factory.django.DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = OrganisationKind.OTHER


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Camille"
    last_name = factory.Sequence(lambda n: f"Martin{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    role = Role.MEMBER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StrategyFactory(factory.django.DjangoModelFactory[Strategy]):
    class Meta:
        model = Strategy
        django_get_or_create = ("slug",)

    slug = "manosque-2023-2027"
    title = "Stratégie locale de sécurité et de prévention de la délinquance 2023-2027"
    town = "Manosque"
    start_year = 2023
    end_year = 2027


class AxisFactory(factory.django.DjangoModelFactory[Axis]):
    class Meta:
        model = Axis

    strategy = factory.SubFactory(StrategyFactory)
    number = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Axe de test {n}")


class ActionFactory(factory.django.DjangoModelFactory[Action]):
    class Meta:
        model = Action

    axis = factory.SubFactory(AxisFactory)
    number = factory.Sequence(lambda n: str(n + 1))
    position = factory.LazyAttribute(lambda a: int(a.number) if a.number.isdigit() else 0)
    title = factory.Sequence(lambda n: f"Action de test {n}")
    description = "Description de l'action."


class StatusUpdateFactory(factory.django.DjangoModelFactory[StatusUpdate]):
    class Meta:
        model = StatusUpdate

    action = factory.SubFactory(ActionFactory)
    strategy = factory.LazyAttribute(lambda u: u.action.axis.strategy)
    author = factory.SubFactory(UserFactory)
    created_at = factory.LazyFunction(timezone.now)
    previous_status = "todo"
    previous_progress = 0
    status = "in_progress"
    progress = 20
    comment = "Point d'étape."


class BodyFactory(factory.django.DjangoModelFactory[Body]):
    class Meta:
        model = Body

    strategy = factory.SubFactory(StrategyFactory)
    kind = BodyKind.PLENARY
    name = factory.LazyAttribute(lambda b: BodyKind(b.kind).label)
    cadence = Cadence.YEARLY


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    body = factory.SubFactory(BodyFactory)
    user = factory.SubFactory(UserFactory)


def log_in_once(users: Iterable[User | None]) -> None:
    """Mark `users` as having logged in (the coordinators' digest lists those who never did)."""
    User.objects.filter(pk__in=[u.pk for u in users if u is not None]).update(
        last_login=timezone.now()
    )
