"""The layout's rules, checked on the source: no import circles, a solution is data that only the
assembling code reads to choose, each location builds its own solution only, and nothing builds Dagster
definitions at import."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import networkx as nx
import pytest

REPO = Path(__file__).resolve().parents[1]
# Each package of the project and the folder it is imported from.
PACKAGES = {"dagster_project": REPO, "playground": REPO / "packages" / "generators", "dashboard": REPO,
            "bench": REPO}
# The solutions, their resources and the assembling code: the modules that may read a solution to choose.
ASSEMBLING = {"dagster_project.assembly", "dagster_project.solutions", "dagster_project.solution_resources"}


def modules() -> dict[str, Path]:
    found = {}
    for package, root in PACKAGES.items():
        for path in (root / package).rglob("*.py"):
            if ".venv" in path.parts:
                continue
            name = ".".join(path.relative_to(root).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The project's modules a file imports, anywhere in it (a lazy import is a dependency too)."""
    def module_of(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found.update(m for n in names if (m := module_of(n)))
    return found


def import_graph() -> nx.DiGraph:
    known = modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(known)
    for name, path in known.items():
        graph.add_edges_from((name, other) for other in imports(path, known)
                             if other != name and not name.startswith(f"{other}."))
    return graph


def circles(graph: nx.DiGraph) -> list[list[str]]:
    return sorted(sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1)


def test_no_module_imports_itself_through_others() -> None:
    assert circles(import_graph()) == []


def test_the_tiers_import_each_other_in_one_direction() -> None:
    """Between dagster_project's subpackages (landing, bronze, streaming, transform, provisioning,
    on_spark, locations), imports go one way."""
    tiers = nx.DiGraph()
    for a, b in import_graph().edges:
        if a.count(".") >= 2 and b.count(".") >= 2 and a.startswith("dagster_project.") \
                and b.startswith("dagster_project."):
            tier_a, tier_b = a.split(".")[1], b.split(".")[1]
            if tier_a != tier_b:
                tiers.add_edge(tier_a, tier_b)
    assert circles(tiers) == []


# The layers, lowest first: a module imports its own layer's modules and lower layers' only.
LAYERS = ("playground.catalog", "playground.errors"), ("playground.io",), ("playground.generators",), \
    ("dagster_project",), ("dashboard", "bench")


def layer(module: str) -> int:
    return next(i for i, names in enumerate(LAYERS) for name in names
                if module == name or module.startswith(f"{name}."))


def upward_imports(graph: nx.DiGraph) -> list[tuple[str, str]]:
    return sorted((a, b) for a, b in graph.edges if a != "playground" and b != "playground" and layer(a) < layer(b))


def test_the_layers_import_downwards_only() -> None:
    """The catalog and the error import nothing of ours; the I/O layer (playground.io) the catalog; the
    generators the I/O layer; Dagster's project all of them; and nothing of the generators' distribution
    imports Dagster's project (it ships alone, in the generators' image)."""
    assert upward_imports(import_graph()) == []
    assert {name for name in import_graph().successors("playground.catalog")} == set()


def test_the_layer_check_finds_an_upward_import() -> None:
    graph = nx.DiGraph([("playground.io.lake", "playground.catalog"), ("playground.io.lake", "dagster_project.x")])
    assert upward_imports(graph) == [("playground.io.lake", "dagster_project.x")]


def test_the_circle_check_finds_a_circle() -> None:
    graph = nx.DiGraph([("a.x", "a.y"), ("a.y", "a.z"), ("a.z", "a.x"), ("a.z", "b")])
    assert circles(graph) == [["a.x", "a.y", "a.z"]]


def test_the_solutions_import_nothing_of_the_project() -> None:
    known = modules()
    assert imports(known["dagster_project.solutions"], known) == set()


def branches_on_a_solution(source: str) -> list[int]:
    """Lines whose condition, comparison or boolean reads a solution's field (`solution.x`, `self.solution.x`)."""
    def reads_solution(node: ast.AST) -> bool:
        for inner in ast.walk(node):
            if isinstance(inner, ast.Attribute):
                owner = inner.value
                if isinstance(owner, ast.Name) and owner.id == "solution":
                    return True
                if isinstance(owner, ast.Attribute) and owner.attr == "solution":
                    return True
        return False

    lines = []
    for node in ast.walk(ast.parse(source)):
        tests = []
        if isinstance(node, (ast.If, ast.IfExp, ast.While)):
            tests = [node.test]
        elif isinstance(node, ast.comprehension):
            tests = list(node.ifs)
        elif isinstance(node, ast.Match):
            tests = [node.subject]
        elif isinstance(node, (ast.Compare, ast.BoolOp)):
            tests = [node]
        lines += [test.lineno for test in tests if reads_solution(test)]
    return lines


def test_the_branch_check_finds_a_branch() -> None:
    assert sorted(set(branches_on_a_solution(
        "if solution.local:\n    pass\nx = 1 if self.solution.name == 'a' else 2\ny = solution.key('a', 'b')\n"
        "on_spark = solution.bronze == 'spark'\nboth = solution.local and x\n"))) == [1, 3, 5, 6]


def test_only_the_assembling_code_chooses_by_solution() -> None:
    """Each tier offers its variants; assembly.py alone reads a solution's fields to pick one."""
    found = {name: lines for name, path in modules().items()
             if name.startswith("dagster_project.") and name not in ASSEMBLING
             and (lines := branches_on_a_solution(path.read_text()))}
    assert found == {}


@pytest.mark.parametrize(("module", "solution"), [("dagster_project.locations.databricks_solution", "databricks"),
                                                  ("dagster_project.locations.microsoft_solution", "microsoft"),
                                                  ("dagster_project.definitions", "local")])
def test_each_location_builds_its_own_solution_only(module: str, solution: str) -> None:
    sys.modules.pop(module, None)
    with mock.patch("dagster_project.assembly.build_definitions") as build, \
            mock.patch.dict("os.environ", {"PLAYGROUND_TARGET": "local"}):
        importlib.import_module(module)
    sys.modules.pop(module, None)
    assert [call.args for call in build.call_args_list] == [(solution,)]


def test_no_module_builds_definitions_at_import() -> None:
    """Assets, jobs, sensors and schedules are built by the assembling code when a location loads,
    never as a module's global for tests' sake (a location would build them all again)."""
    from dagster import AssetsDefinition, AssetSpec, JobDefinition, ScheduleDefinition, SensorDefinition
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

    built = (AssetsDefinition, AssetSpec, JobDefinition, ScheduleDefinition, SensorDefinition,
             UnresolvedAssetJobDefinition)
    locations = {"dagster_project.definitions", "dagster_project.locations.databricks_solution",
                 "dagster_project.locations.microsoft_solution"}
    import dagster_project

    found = []
    for info in pkgutil.walk_packages(dagster_project.__path__, "dagster_project."):
        if info.name in locations:
            continue
        module = importlib.import_module(info.name)
        found += [f"{info.name}.{name}" for name, value in vars(module).items() if isinstance(value, built)]
    assert found == []


@pytest.fixture
def reviews() -> Iterator[None]:
    """A made-up lake source registered for one test as a new source is added: its catalog entry and its
    generator."""
    from playground import catalog
    from playground.generators import run

    source = catalog.Source("reviews", "lake", {"id": "int", "product_id": "int", "text": "str"}, ("id",), False,
                            "Product reviews, one file each in the lake.", "reviews",
                            "One JSON document per review in landing/reviews/.", made_from=("users", "products"),
                            counts={"small": 100, "medium": 1_000, "large": 10_000}, landed_bytes=300,
                            folder="landing/reviews")
    def generate_reviews(generation: run.Generation) -> list[run.Manifest]:
        count = generation.sizes.reviews
        for review in range(count):
            generation.lake.write_bytes(f"landing/reviews/review_{review}.json",
                                        f'{{"id": {review}, "product_id": 1, "text": "fine"}}\n'.encode())
        manifest = run.Manifest("reviews", generation.seed, count, count, generation.lake.display("landing/reviews/"))
        manifest.save(generation.lake)
        return [manifest]

    with mock.patch.dict(catalog.SOURCES, {"reviews": source}), \
            mock.patch.dict(catalog.FILE_SOURCES, {"reviews": source}), \
            mock.patch.dict(catalog.GENERATIONS, {"reviews": ("reviews",)}), \
            mock.patch.dict(run.GENERATORS, {"reviews": generate_reviews}):
        yield


def test_a_source_added_to_the_catalog_lands_and_is_ingested_in_every_solution(reviews: None) -> None:
    """Its landing asset (reported where containers generate), its bronze asset with the key and quarantine
    checks, and the sensor that sees its new files: all derived from the catalog entry."""
    from dagster import AssetKey

    from dagster_project.assembly import build_definitions

    for name, prefix in (("microsoft", ["microsoft"]), ("local", [])):
        defs = build_definitions(name)
        graph = defs.resolve_asset_graph()
        landing, bronze = AssetKey([*prefix, "landing", "reviews"]), AssetKey([*prefix, "bronze", "reviews"])
        assert graph.get(landing).parent_keys == {AssetKey([*prefix, "landing", s]) for s in ("users", "products")}
        assert graph.get(bronze).parent_keys == {landing}
        checks = {key.name for key in graph.asset_check_keys if key.asset_key == bronze}
        assert checks == {"key_not_null", "key_unique", "quarantine_share"}
        files_sensor = defs.resolve_sensor_def("_".join([*prefix, "new_data"]))
        assert bronze in files_sensor.asset_selection.resolve(graph)


def test_a_source_added_to_the_catalog_is_generated_and_ingested_locally(reviews: None, tmp_path: Path) -> None:
    from dagster import AssetKey, AssetsDefinition, materialize

    from dagster_project.assembly import build_definitions
    from tests.helpers import local_resources

    keys = [AssetKey(["landing", "reviews"]), AssetKey(["bronze", "reviews"])]
    assets = [a for a in build_definitions("local").assets
              if isinstance(a, AssetsDefinition) and set(a.keys) & set(keys)]
    result = materialize(assets, resources=local_resources(tmp_path), selection=keys,
                         run_config={"ops": {"landing_reviews": {"config": {"counts": {"reviews": 7}}}}})
    assert result.success
    landed = result.asset_materializations_for_node("landing_reviews")[0].metadata["records"].value
    bronze = next(m for m in result.get_asset_materialization_events() if m.asset_key == keys[1])
    assert landed == 7 and bronze.materialization.metadata["rows_new"].value == 7
    assert all(check.passed for check in result.get_asset_check_evaluations())


def test_the_benchmarks_stand_on_their_own() -> None:
    """bench/ runs from a checkout without the tests: it imports none of them."""
    known = {**modules(), "tests": REPO / "tests" / "__init__.py", "tests.helpers": REPO / "tests" / "helpers.py",
             "tests.conftest": REPO / "tests" / "conftest.py"}
    leaning = {name: found for name, path in modules().items() if name.startswith("bench")
               and (found := {m for m in imports(path, known) if m.startswith("tests")})}
    assert leaning == {}
