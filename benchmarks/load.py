"""Locust load test: signed-in référents using the platform as they do at work.

    .venv/bin/python -m benchmarks.load_run       # the runner: database, server, Locust, figures
    .venv/bin/python -m locust -f benchmarks/load.py --headless -u 20 -r 20 -t 5m \\
        --measured-seconds 60 --host http://127.0.0.1:5000   # Locust alone, on the demo

Each simulated client signs in once at /connexion as the référent of one of the demo's EPCIs
(the CSRF token read from the form), then requests pages and API calls one after the other,
with no pause: a client is one connection kept busy, so the figures measure what the server
can serve, not how fast people click. The mix follows a référent's working day: the map and
its layers, the parks list, park and plot pages, the projects list, the search page with a
company's needs and the matching API a script calls.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import gevent
from gevent.lock import Semaphore
from locust import FastHttpUser, constant, events, task
from locust.env import Environment

from benchmarks.needs import benchmark_needs
from foncier.web.matching.examples import EXAMPLES
from seed.accounts import DEMO_DOMAIN, DEMO_PASSWORD

# The demo's référents, one per EPCI of Indre-et-Loire (seed/accounts.py names them so).
REFERENT_SLUGS = (
    "autour-de-chenonceaux-blere-val-de-cher",
    "castelrenaudais",
    "chinon-vienne-et-loire",
    "gatine-racan",
    "loches-sud-touraine",
    "touraine-est-vallees",
    "touraine-ouest-val-de-loire",
    "touraine-val-de-vienne",
    "touraine-vallee-de-l-indre",
    "tours-metropole-val-de-loire",
    "val-d-amboise",
)
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PROJECT_LINK = re.compile(r'href="/projets/(\d+)"')
# The map asks for every feature of its view at once (the API's largest page).
MAP_LIMIT = 1000
# Half the side of a map view at the zoom where plots appear (12), in degrees.
VIEW_HALF_SIDE = 0.04
# The overview map's zones, simplified to a pixel of its zoom (as map.js asks).
TOURAINE_BBOX = "-0.1,46.6,1.5,47.8"
ZONE_SIMPLIFY_M = 210
NEEDS_COUNT = 20
NEEDS_SEED = 4
_accounts = itertools.cycle(REFERENT_SLUGS)


@dataclass(frozen=True)
class Inventory:
    """What the clients pick from: the demo's parks (id and centre), plots and needs."""

    parks: list[tuple[str, float, float]]
    plots: list[str]
    needs: list[dict[str, Any]]


class Shared:
    """What the clients of one Locust process share: the inventory, read once, and how many
    clients are signed in."""

    def __init__(self) -> None:
        self.inventory: Inventory | None = None
        self.lock = Semaphore()
        self.signed_in = 0


_shared = Shared()


def _centre(geometry: dict[str, Any]) -> tuple[float, float]:
    """(lon, lat) of the middle of a park's outline's bounding box."""
    coordinates = list(_points(geometry["coordinates"]))
    lons, lats = [point[0] for point in coordinates], [point[1] for point in coordinates]
    return (min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2


def _points(nested: list[Any]) -> Any:
    if nested and isinstance(nested[0], int | float):
        yield nested
        return
    for part in nested:
        yield from _points(part)


def _load_inventory(client: Any) -> Inventory:
    """Read the parks and plots once, through the API, with the first client's session."""
    sites = client.get(f"/api/sites?limit={MAP_LIMIT}", name="/api/sites").json()
    plots = client.get(f"/api/terrains?limit={MAP_LIMIT}", name="/api/terrains").json()
    parks = [(site["id"], *_centre(site["geometry"])) for site in sites["features"]]
    places = [(lat, lon) for _, lon, lat in parks]
    return Inventory(
        parks=parks,
        plots=[plot["id"] for plot in plots["features"]],
        needs=benchmark_needs(NEEDS_COUNT, places, NEEDS_SEED),
    )


def inventory(client: Any) -> Inventory:
    with _shared.lock:
        if _shared.inventory is None:
            _shared.inventory = _load_inventory(client)
    return _shared.inventory


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument(
        "--measured-seconds",
        type=int,
        default=0,
        help="stop this long after every client has signed in (0: at --run-time only)",
    )


def _signed_in(environment: Environment) -> None:
    """Count a client signed in; once all are, start the figures afresh, and stop after
    --measured-seconds. A person signs in once a day, each client here once a run: the
    sign-ins (argon2 checks, a tenth of a second each by design, all at once at the start)
    would weigh in the figures as they never do at work."""
    _shared.signed_in += 1
    if _shared.signed_in != environment.runner.target_user_count:
        return
    environment.runner.stats.reset_all()
    seconds = environment.parsed_options.measured_seconds
    if seconds:
        gevent.spawn_later(seconds, environment.runner.quit)


class Referent(FastHttpUser):
    """A référent of one EPCI, signed in, going from page to page without pausing."""

    wait_time = constant(0)

    def on_start(self) -> None:
        form = self.client.get("/connexion", name="/connexion").text
        token = CSRF_FIELD.search(form).group(1)
        with self.client.post(
            "/connexion",
            data={
                "csrf_token": token,
                "email": f"referent.{next(_accounts)}@{DEMO_DOMAIN}",
                "password": DEMO_PASSWORD,
            },
            name="/connexion (POST)",
            catch_response=True,
        ) as response:
            # A sign-in that works redirects to the map; a refused one shows the form again.
            if "/connexion" in response.url:
                response.failure("sign-in refused")
        _signed_in(self.environment)
        self.inventory = inventory(self.client)
        projects = self.client.get("/projets", name="/projets").text
        self.projects = PROJECT_LINK.findall(projects)

    def _park(self) -> tuple[str, float, float]:
        return random.choice(self.inventory.parks)

    @task(2)
    def map_page(self) -> None:
        self.client.get("/", name="/")

    @task(1)
    def map_epcis(self) -> None:
        self.client.get(f"/api/epci?limit={MAP_LIMIT}", name="/api/epci")

    @task(1)
    def map_zones(self) -> None:
        query = urlencode({"limit": MAP_LIMIT, "bbox": TOURAINE_BBOX, "simplify": ZONE_SIMPLIFY_M})
        self.client.get(f"/api/zones?{query}", name="/api/zones?bbox")

    @task(2)
    def map_parks(self) -> None:
        self.client.get(f"/api/sites?limit={MAP_LIMIT}", name="/api/sites")

    @task(4)
    def map_plots_in_view(self) -> None:
        _, lon, lat = self._park()
        bbox = ",".join(
            f"{value:.4f}"
            for value in (
                lon - VIEW_HALF_SIDE,
                lat - VIEW_HALF_SIDE,
                lon + VIEW_HALF_SIDE,
                lat + VIEW_HALF_SIDE,
            )
        )
        self.client.get(f"/api/terrains?limit={MAP_LIMIT}&bbox={bbox}", name="/api/terrains?bbox")

    @task(2)
    def parks_list(self) -> None:
        page = random.choice(("", "?page=2"))
        self.client.get(f"/sites{page}", name="/sites")

    @task(3)
    def park_page(self) -> None:
        site_id, _, _ = self._park()
        self.client.get(f"/sites/{site_id}", name="/sites/<id>")
        # The park page's map fetches its plots.
        self.client.get(
            f"/api/terrains?limit={MAP_LIMIT}&site_id={site_id}", name="/api/terrains?site_id"
        )

    @task(4)
    def plot_page(self) -> None:
        terr_id = random.choice(self.inventory.plots)
        self.client.get(f"/terrains/{terr_id}", name="/terrains/<id>")

    @task(2)
    def projects_list(self) -> None:
        self.client.get("/projets", name="/projets")
        if self.projects:
            project = random.choice(self.projects)
            self.client.get(f"/projets/{project}", name="/projets/<id>")

    @task(2)
    def search_page(self) -> None:
        example = random.choice(EXAMPLES)
        query = urlencode(example.parameters, doseq=True)
        self.client.get(f"/recherche?{query}", name="/recherche?needs")

    @task(3)
    def match_api(self) -> None:
        self.client.post("/api/match", json=random.choice(self.inventory.needs), name="/api/match")
