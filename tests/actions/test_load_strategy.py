"""`load_strategy`: the Manosque strategy as data, idempotent, atomic, several strategies."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from actions.forms import FundingForm
from actions.loader import StrategyFileError, parse_strategy, parse_strategy_file, strategy_load
from actions.models import Action, Funding, SubAction, SubList
from axes.models import Axis, Strategy
from governance.models import Body, BodyKind, Cadence, Organisation, OrganisationKind

DATA = Path(__file__).parent / "data"
# A copy of the published strategy document the data file was transcribed from.
SEED = DATA / "strategie-locale-manosque-2023-2027.txt"
FIXTURE = DATA / "exemple-2024-2026.toml"
SLUG = "manosque-2023-2027"

# Every numbered action of the seed, as written (axis 3's bold markers are not text).
ACTIONS = {
    "1.1": "Actions de prévention sur les conduites addictives",
    "1.2": "Prévention du harcèlement et du cyberharcèlement",
    "1.3": "Mesures de responsabilisation",
    "1.4": "Implication des parents et des familles",
    "1.5": "Cellule de veille individuelle",
    "2.1": "Violences intrafamiliales",
    "2.2": "Prise en charge des auteurs de violences intrafamiliales",
    "2.3": "Prise en charge des victimes",
    "2.4": "Impact sur les enfants",
    "2.5": "Lutte contre le sexisme de genre",
    "2.6": "Accès au droit et à la justice de proximité",
    "3.1": "Approche globale de l'insécurité routière",
    "3.2": "Communiquer sur la sécurité et la tranquillité publique",
    "3.3": "Améliorer la tranquillité publique",
    "3.4": 'Dispositif "PEDIBUS"',
    "3.5": "Coopération entre Bailleurs sociaux/Police nationale/Justice",
    "4.1": "Prévention des radicalités violentes et de l'extrémisme",
    "4.2": "Les valeurs de la République et de Citoyenneté",
    "5.1": "Formation aux premiers secours en santé mentale des agents municipaux et des "
    "professionnels en contact du public.",
    "5.2": "Partenariats et coordination",
    "5.3": "Cellule de suivi des situations complexes",
    "5.4": "Campagnes de prévention",
}

RADICALITIES = "Prévenir et lutter contre les radicalités violentes et l'extrémisme"
HEALTH = "Prendre en compte les problématiques liées à la santé mentale"

# action code -> list title -> [(number, title)] of its points, in order.
SUBLISTS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "1.4": {
        "Favoriser l'engagement des parents et des familles": [
            ("", "Considérer les parents comme un public cible"),
            ("", "Prévention et protection des enfants"),
            ("", "Renforcer les liens parents-enfants"),
        ]
    },
    "3.3": {
        "Améliorer la tranquillité publique et résidentielle": [
            ("1", "Renforcer la surveillance dans les lieux publics"),
            ("2", "Promouvoir la participation citoyenne"),
            ("3", "Aménager et sécuriser l'espace urbain"),
            ("4", "Relancer le dispositif de médiation tranquillité publique"),
            ("5", "Sensibiliser les résidents"),
        ]
    },
    "4.1": {
        RADICALITIES: [
            ("1", "Prévention de la radicalisation des jeunes"),
            ("2", "Formation des acteurs locaux"),
            ("5", "Accompagnement des personnes radicalisées"),
        ]
    },
    "4.2": {
        RADICALITIES: [
            ("3", "Réaffirmer les valeurs de la République"),
            ("4", "Améliorer le vivre ensemble"),
        ],
        "AMELIORER LE VIVRE ENSEMBLE ET LUTTER CONTRE LE COMMUNAUTARISME": [],
        "Les valeurs de la République": [
            ("", "Liberté"),
            ("", "Egalité"),
            ("", "Fraternité"),
        ],
        "La connaissance des valeurs républicaines": [
            ("", "La Loi"),
            ("", "Le Patrimoine"),
            ("", "L'Instruction"),
        ],
        "Le respect des valeurs de la République": [
            ("1", "Par ses actions"),
            ("2", "Par son langage"),
            ("3", "Par le partage"),
        ],
    },
    "5.3": {
        "Réflexion sur la création d'une cellule de suivi des situations complexes et d'un CLSM": [
            ("1", "Fédérer les professionnels et les personnes relais"),
            ("2", "Promouvoir la santé mentale"),
            ("3", "Traiter des situations individuelles complexes"),
        ]
    },
    "5.4": {
        HEALTH: [
            ("", "Écoute et accompagnement"),
            ("", "Prévention"),
            ("", "Sensibilisation"),
        ]
    },
}


def load(*args: str) -> str:
    out = StringIO()
    call_command("load_strategy", *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    models = (Strategy, Axis, Action, SubList, SubAction, Funding, Organisation, Body)
    return {model.__name__: model.objects.count() for model in models}


def actions_by_code(slug: str = SLUG) -> dict[str, Action]:
    actions = Action.objects.filter(axis__strategy__slug=slug).select_related("axis")
    return {action.code: action for action in actions}


@pytest.fixture
def manosque(db) -> Strategy:
    load()
    return Strategy.objects.get(slug=SLUG)


def test_it_loads_every_numbered_action_as_written(manosque):
    assert {code: a.title for code, a in actions_by_code().items()} == ACTIONS
    actions = actions_by_code()
    assert actions["1.1"].description == (
        "Poursuite et renforcement des actions de prévention et de repérage autour des "
        "conduites addictives avec ou sans produits."
    )
    # The seed's oddities are kept, not fixed.
    assert actions["2.6"].description.endswith("(CDAD, SPIP, PJJ, Défenseur des droits...")
    assert actions["3.2"].description == ""
    assert actions["3.3"].description == ""
    assert [a.number for a in actions.values() if a.axis.number == 2] == list("123456")


def test_it_loads_the_five_axes_with_their_priority_issue(manosque):
    axes = list(manosque.axes.order_by("number").values_list("number", "title", "priority_issue"))
    assert [number for number, _, _ in axes] == [1, 2, 3, 4, 5]
    assert axes[3][1] == RADICALITIES
    seed = SEED.read_text(encoding="utf-8")
    issues = seed.split("Les enjeux prioritaires")[1].split("La déclinaison")[0]
    assert [issue for _, _, issue in axes] == [
        line.strip() for line in issues.splitlines() if line.strip()
    ]


def test_it_attaches_each_sub_list_to_the_action_it_details(manosque):
    loaded: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for sublist in SubList.objects.select_related("action__axis").prefetch_related("items"):
        points = [(item.number, item.title) for item in sublist.items.all()]
        loaded.setdefault(sublist.action.code, {})[sublist.title] = points
    assert loaded == SUBLISTS
    vivre_ensemble = SubList.objects.get(title__startswith="AMELIORER")
    assert vivre_ensemble.intro.startswith("Le vivre ensemble est essentiel")


def test_it_leaves_no_sentence_of_the_seed_out(manosque):
    stored = "\n".join(
        [manosque.title, manosque.preamble, manosque.conclusion]
        + [t for a in Axis.objects.all() for t in (a.title, a.priority_issue, a.description)]
        + [t for a in Action.objects.all() for t in (a.title, a.description)]
        + [t for s in SubList.objects.all() for t in (s.title, s.intro)]
        + [t for s in SubAction.objects.all() for t in (s.title, s.description)]
        + [t for b in Body.objects.all() for t in (b.name, b.description)]
    )
    for line in SEED.read_text(encoding="utf-8").splitlines():
        sentence = re.sub(r"^\d+ ", "", line.replace("**", "").strip())
        # Short lines are numbers, headings and fragments of the governance diagram (loaded as
        # bodies); "Axe n :" headings are the axes themselves.
        if len(sentence) >= 25 and not sentence.startswith(("Axe ", "Schéma de gouvernance")):
            assert sentence in stored, sentence


def test_it_puts_the_introduction_in_the_preamble_and_the_conclusion_apart(manosque):
    assert manosque.preamble.startswith("La présente Stratégie Locale de Sécurité")
    assert "Synthèse du diagnostic local de sécurité de sécurité" in manosque.preamble
    assert manosque.conclusion.startswith("La Stratégie Locale de Sécurité et de Prévention")
    assert (manosque.town, manosque.start_year, manosque.end_year) == ("Manosque", 2023, 2027)


def test_it_creates_the_governance_bodies(manosque):
    bodies = {
        (body.kind, body.axis.number if body.axis else None): body
        for body in manosque.bodies.select_related("axis")
    }
    assert bodies[(BodyKind.PLENARY, None)].cadence == Cadence.YEARLY
    assert bodies[(BodyKind.COMMITTEE, None)].cadence == Cadence.YEARLY
    assert bodies[(BodyKind.OBSERVATORY, None)].cadence == Cadence.NONE
    assert bodies[(BodyKind.WATCH_CELL, 1)].cadence == Cadence.BIMONTHLY
    assert bodies[(BodyKind.COMPLEX_CELL, 5)].cadence == Cadence.AS_NEEDED
    for number in range(1, 6):
        group = bodies[(BodyKind.WORKING_GROUP, number)]
        assert group.cadence == Cadence.QUARTERLY
        assert group.name == f"Groupe de travail thématique — Axe {number}"
    assert len(bodies) == 10


def test_it_creates_the_partner_organisations(manosque):
    kinds = dict(Organisation.objects.values_list("name", "kind"))
    assert kinds["Ville de Manosque"] == OrganisationKind.COMMUNE
    assert kinds["Police nationale"] == OrganisationKind.POLICE
    assert kinds["Habitations de Haute-Provence"] == OrganisationKind.SOCIAL_LANDLORD
    assert kinds["Collège Jean Giono"] == OrganisationKind.EDUCATION
    assert kinds["Centre hospitalier de Manosque"] == OrganisationKind.HEALTH
    short_names = set(Organisation.objects.values_list("short_name", flat=True))
    assert {"CDAD", "SPIP", "PJJ", "H2P", "Justice"} <= short_names
    # The seed names no lead: that is for the coordinator to fill in.
    assert not Action.objects.filter(lead_organisation__isnull=False).exists()


def test_it_creates_nothing_the_second_time(manosque):
    before = row_counts()
    output = load()
    assert "Total : 0 créé, " in output
    assert row_counts() == before


def test_it_never_overwrites_a_row_edited_since(manosque):
    action = actions_by_code()["3.1"]
    action.title, action.description = "Titre revu", ""
    action.save()
    Axis.objects.filter(strategy=manosque, number=2).update(title="Axe renommé")
    Organisation.objects.filter(name="Police nationale").update(kind=OrganisationKind.OTHER)
    Body.objects.filter(kind=BodyKind.PLENARY).update(name="Assemblée plénière")
    SubAction.objects.filter(title="Sensibiliser les résidents").delete()

    output = load()

    action.refresh_from_db()
    assert (action.title, action.description) == ("Titre revu", "")
    assert Axis.objects.get(strategy=manosque, number=2).title == "Axe renommé"
    assert Organisation.objects.get(name="Police nationale").kind == OrganisationKind.OTHER
    assert Body.objects.get(kind=BodyKind.PLENARY).name == "Assemblée plénière"
    # Only what is missing comes back.
    assert SubAction.objects.filter(title="Sensibiliser les résidents").count() == 1
    assert "Total : 1 créé, " in output


def test_it_loads_the_default_file_when_none_is_given(db):
    assert "Total : 100 créés, 0 déjà présent." in load()
    assert Strategy.objects.filter(slug=SLUG).exists()


def test_it_keeps_several_strategies_apart(manosque):
    manosque_rows = {code: (a.pk, a.title) for code, a in actions_by_code().items()}

    output = load(str(FIXTURE))

    assert "créé" in output
    assert set(Strategy.objects.values_list("slug", flat=True)) == {
        SLUG,
        "saint-exemple-2024-2026",
    }
    assert {c: (a.pk, a.title) for c, a in actions_by_code().items()} == manosque_rows
    other = actions_by_code("saint-exemple-2024-2026")
    assert set(other) == {"1.1", "1.2 bis", "2.1"}
    assert Axis.objects.filter(strategy=manosque).count() == 5
    # Both define a plenary: one per strategy.
    assert Body.objects.filter(kind=BodyKind.PLENARY).count() == 2

    before = row_counts()
    assert "Total : 0 créé, " in load(str(FIXTURE))
    assert "Total : 0 créé, " in load()
    assert row_counts() == before


def test_it_loads_a_full_action_sheet(db):
    load(str(FIXTURE))
    actions = actions_by_code("saint-exemple-2024-2026")
    action = actions["1.1"]
    assert action.lead_organisation is not None
    assert action.lead_organisation.name == "Mairie de Saint-Exemple"
    assert set(action.contributors.values_list("name", flat=True)) == {
        "Association Exemple Jeunesse",
        "Brigade de gendarmerie de Saint-Exemple",
    }
    assert (action.target_public, action.territory, action.priority) == (
        "Jeunes de 16 à 25 ans",
        "Quartier des Aires",
        "high",
    )
    assert (str(action.start_date), str(action.end_date)) == ("2024-03-01", "2026-12-31")
    assert list(action.fundings.values_list("year", "funder", "amount")) == [
        (2024, "FIPD", Decimal("12000.00")),
        (2024, "Mairie de Saint-Exemple", Decimal("8000.50")),
        (2025, "FIPD", Decimal("12500.00")),
    ]
    lead = actions["2.1"].lead_organisation
    assert lead is not None
    assert lead.short_name == "Gendarmerie"


def broken(tmp_path: Path, *replacements: tuple[str, str]) -> str:
    """A copy of the fixture file with each (old, new) replaced once."""
    text = FIXTURE.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'title = "Vidéoprotection"',
            "",
            "axe 2, action 1, champ « title » (ligne 75) : L'intitulé de l'action est obligatoire.",
        ),
        ('number = "2 bis"', "number = 1", "axe 1, action 1 : numéro en double"),
        ("number = 2\n", "number = 1\n", "axe 1 : numéro en double"),
        (
            'lead = "Gendarmerie"',
            'lead = "Pompiers"',
            "axe 2, action 1 : organisation « Pompiers » inconnue",
        ),
        (
            'kind = "association"',
            'kind = "club"',
            "organisation 3 : champ « kind » : valeur « club » inconnue",
        ),
        (
            'cadence = "quarterly"',
            'cadence = "weekly"',
            "instance 2 : champ « cadence » : valeur « weekly » inconnue",
        ),
        ("axis = 1", "axis = 7", "instance 2 : l'axe 7 n'existe pas dans le fichier"),
        (
            'title = "Chantier"',
            'title = "Repérage"',
            "liste 1, point « Repérage » : titre en double",
        ),
        ("start_date = 2024-03-01", "start_date = 2024-13-01", "fichier TOML mal formé : ligne"),
        ('amount = "8000.50"', 'amount = "beaucoup"', "financement 2 : champ « amount »"),
        ('priority = "high"', 'priorite = "high"', "clé inconnue « priorite »"),
        (
            'contributors = ["Association Exemple Jeunesse"',
            'contributors = ["Mairie de Saint-Exemple"',
            "axe 1, action 1, champ « contributors » (ligne 39) : Mairie de Saint-Exemple pilote "
            "l'action : elle ne peut pas être aussi partenaire contributeur.",
        ),
        ("amount = 12500", 'amount = "12.345"', "financement 3 : champ « amount »"),
    ],
)
def test_it_loads_nothing_from_a_malformed_file(db, tmp_path, old, new, message):
    path = broken(tmp_path, (old, new))
    with pytest.raises(CommandError) as error:
        load(path)
    assert message in str(error.value)
    assert "rien n'a été enregistré" in str(error.value)
    assert set(row_counts().values()) == {0}


def test_it_names_every_error_of_a_file(db, tmp_path):
    path = broken(
        tmp_path,
        ('title = "Vidéoprotection"', 'titel = "Vidéoprotection"'),
        ('kind = "plenary"', 'kind = "assembly"'),
    )
    with pytest.raises(CommandError) as error:
        load(path)
    assert "axe 2, action 1 : clé inconnue « titel »" in str(error.value)
    assert "instance 1 : champ « kind » : valeur « assembly » inconnue" in str(error.value)


def test_it_names_every_sheet_the_services_refuse_with_its_line(db, tmp_path):
    path = broken(
        tmp_path,
        ("end_date = 2026-12-31", "end_date = 2024-01-01"),
        ('{ year = 2025, funder = "FIPD"', '{ year = 2024, funder = "fipd"'),
        ('title = "Vidéoprotection"', 'title = ""'),
    )
    with pytest.raises(StrategyFileError) as error:
        strategy_load(data=parse_strategy_file(Path(path)))
    assert error.value.errors == [
        "axe 1, action 1, champ « end_date » (ligne 47) : "
        "La date de fin doit être postérieure ou égale à la date de début.",
        "axe 1, action 1, financement 3 (ligne 51) : "
        "Le financement 2024 de « fipd » est saisi deux fois.",
        "axe 2, action 1, champ « title » (ligne 77) : L'intitulé de l'action est obligatoire.",
    ]
    assert set(row_counts().values()) == {0}


def test_it_refuses_a_funding_year_with_the_editors_message_and_its_line(db, tmp_path):
    path = broken(tmp_path, ('{ year = 2024, funder = "Mairie', '{ year = 1950, funder = "Mairie'))
    line = (
        Path(path)
        .read_text(encoding="utf-8")
        .splitlines()
        .index('  { year = 1950, funder = "Mairie de Saint-Exemple", amount = "8000.50" },')
    )
    editor = FundingForm({"year": "1950", "funder": "FIPD", "amount": "1"})
    assert not editor.is_valid()
    [message] = editor.errors["year"]

    with pytest.raises(CommandError) as error:
        load(path)

    assert line + 1 == 50
    assert f"  - axe 1, action 1, financement 2 (ligne 50) : {message}\n" in f"{error.value}\n"
    assert message == "L'année doit être comprise entre 2000 et 2100."
    assert set(row_counts().values()) == {0}


def test_it_leaves_an_already_loaded_strategy_untouched_when_a_file_fails(manosque, tmp_path):
    before = row_counts()
    with pytest.raises(CommandError):
        load(broken(tmp_path, ('lead = "Gendarmerie"', 'lead = "Inconnue"')))
    assert row_counts() == before


def test_it_reports_a_missing_file(db):
    with pytest.raises(CommandError, match="fichier introuvable"):
        load("/nonexistent/strategy.toml")


def minimal(**action: object) -> dict:
    return {
        "strategy": {
            "slug": "test",
            "title": "Test",
            "town": "Testville",
            "start_year": 2020,
            "end_year": 2022,
        },
        "axes": [{"number": 1, "title": "Axe", "actions": [{"number": 1, "title": "A", **action}]}],
    }


def test_it_finds_referenced_organisations_already_in_the_database(db):
    police = Organisation.objects.create(name="Police nationale", short_name="PN")
    town = Organisation.objects.create(name="Ville de Testville", short_name="Ville")
    report = strategy_load(data=parse_strategy(minimal(lead="PN", contributors=["Ville"])))
    action = Action.objects.get(axis__strategy=report.strategy)
    assert action.lead_organisation == police
    assert list(action.contributors.all()) == [town]


def test_it_refuses_a_lead_that_also_contributes(db):
    Organisation.objects.create(name="Police nationale", short_name="PN")
    data = parse_strategy(minimal(lead="PN", contributors=["Police nationale"]))
    with pytest.raises(StrategyFileError, match="pilote l'action"):
        strategy_load(data=data)
    assert not Strategy.objects.exists()


def test_it_refuses_an_ambiguous_reference(db):
    Organisation.objects.create(name="Police A", short_name="Police")
    Organisation.objects.create(name="Police B", short_name="Police")
    with pytest.raises(StrategyFileError, match="désigne plusieurs organisations"):
        strategy_load(data=parse_strategy(minimal(lead="Police")))
    assert not Strategy.objects.exists()


def test_it_refuses_an_end_before_the_start(db):
    document = minimal()
    document["strategy"]["end_year"] = 2019
    with pytest.raises(StrategyFileError) as error:
        parse_strategy(document)
    assert error.value.errors == [
        "stratégie : l'année de fin (« end_year ») précède l'année de début (« start_year »)",
    ]
    data = parse_strategy(minimal(start_date="2021-05-01", end_date="2021-01-01"))
    with pytest.raises(StrategyFileError) as error:
        strategy_load(data=data)
    assert error.value.errors == [
        "axe 1, action 1, champ « end_date » : "
        "La date de fin doit être postérieure ou égale à la date de début.",
    ]
    assert not Strategy.objects.exists()


def test_it_loads_the_example_of_the_documentation(db):
    doc = Path(__file__).parents[2] / "docs" / "strategy-file-format.md"
    example = doc.read_text(encoding="utf-8").split("## Exemple complet")[1]
    example = example.split("```toml")[1].split("```")[0]
    report = strategy_load(data=parse_strategy(tomllib.loads(example)))
    assert report.created["actions"] == 1
    assert report.created["fundings"] == 2


def test_it_refuses_action_dates_outside_the_strategy_period(db):
    # The strategy runs 2020-2022: its actions may be dated from 2015 to 2027.
    document = minimal(start_date="0001-01-01", end_date=dt.date(2028, 1, 1))
    with pytest.raises(StrategyFileError) as error:
        strategy_load(data=parse_strategy(document))
    assert error.value.errors == [
        "axe 1, action 1, champ « start_date » : La date doit être comprise entre le "
        "1er janvier 2015 et le 31 décembre 2027.",
        "axe 1, action 1, champ « end_date » : La date doit être comprise entre le "
        "1er janvier 2015 et le 31 décembre 2027.",
    ]
    assert not Strategy.objects.exists()
    data = parse_strategy(minimal(start_date="2015-01-01", end_date=dt.date(2027, 12, 31)))
    strategy_load(data=data)
    action = Action.objects.get()
    assert (action.start_date, action.end_date) == (dt.date(2015, 1, 1), dt.date(2027, 12, 31))
