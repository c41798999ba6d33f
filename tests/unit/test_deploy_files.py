"""The production shape as files (docs/deploy.md): the compose file against the Compose Specification's
schema (check-jsonschema's copy), the Kubernetes manifests against the API's schemas (kubernetes-validate,
strict), and what a schema cannot see: every process a command the image's entry point knows, every
setting a real one, every service with its port and probes, exactly one beat, the migration first."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from deploy.container import COMMANDS, UsageError, server_command
from gateway import stream
from hall_common.celery_app import HEAVY_QUEUE
from hall_common.settings import DEFAULT_PORTS, SERVICES, Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33.0"  # the oldest minor version still supported upstream when this was written
# Read by the entry point or by Caddy, not by hall_common.settings.
# OTEL_EXPORTER_OTLP_ENDPOINT: the OpenTelemetry SDK's own variable, read by the OTLP exporter (tracing.py).
NOT_SETTINGS = {"HALL_POSTGRES_ADMIN_URL", "HALL_SITE_ADDRESS", "HALL_GATEWAY_UPSTREAM", "HALL_PROXY_TRUSTED",
                "OTEL_EXPORTER_OTLP_ENDPOINT"}
SETTINGS = {f"HALL_{name.upper()}" for name in Settings.model_fields}
WEB = ("gateway", *SERVICES)


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())  # type: ignore[no-any-return]


def manifests() -> list[dict[str, Any]]:
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in manifests() if doc["kind"] == kind}


def is_hall_image(image: str) -> bool:
    return "employer-hall:" in image or image.startswith("${HALL_IMAGE")


def assert_runs(args: list[str]) -> None:
    """A command the image's entry point accepts: a server it execs, or one of its one-shot commands."""
    if args[0] in ("migrate", "create-databases", "check", "own-tokens"):
        return
    argv, _env = server_command(args)
    assert argv[0] in ("gunicorn", "celery")


# -- the entry point ---------------------------------------------------------------------------------------


def test_the_entry_point_starts_each_process_by_its_command() -> None:
    argv, env = server_command(["service", "payment"])
    assert argv[:3] == ["gunicorn", "-k", "gthread"] and "0.0.0.0:8104" in argv and argv[-1] == \
        "services.payment:create_app()"
    argv, env = server_command(["worker", "workflow,notify"])
    assert argv[argv.index("-Q") + 1] == "workflow,notify" and argv[argv.index("-P") + 1] == "solo"
    assert env == {"HALL_WORKER_SERVICES": "workflow,notify"}  # it registers only those services' tasks
    argv, _env = server_command(["heavy"])
    assert argv[argv.index("-Q") + 1] == HEAVY_QUEUE and argv[argv.index("--prefetch-multiplier") + 1] == "1"
    assert "beat" in server_command(["beat"])[0]
    assert server_command(["gateway"])[0][-1] == "gateway.asgi:create_asgi()"
    for wrong in (["worker", "billing"], ["worker", ""], ["service", "gateway"], ["serve"], []):
        with pytest.raises(UsageError):
            server_command(wrong)


# -- the image ---------------------------------------------------------------------------------------------


def test_the_image_is_multi_stage_pinned_and_runs_as_a_user_without_privileges() -> None:
    text = (ROOT / "Dockerfile").read_text()
    images = re.findall(r"^ARG \w+_IMAGE=(\S+)$", text, re.M)
    assert len(images) == 3 and len(re.findall(r"^FROM ", text, re.M)) >= 4
    for image in images:  # an exact version, never a moving tag
        assert re.fullmatch(r"[a-z]+:\d+\.\d+\.\d+(-[a-z0-9.-]+)?", image), image
    runtime = text.split("AS runtime", 1)[1].split("AS proxy", 1)[0]
    assert re.search(r"^USER 10001", runtime, re.M)
    assert 'ENTRYPOINT ["python", "-m", "deploy.container"]' in runtime
    for source in re.findall(r"^COPY (?:--chown=\S+ )?(?!--from)(\S+) ", text, re.M):
        assert (ROOT / source).exists(), source
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "node_modules", "var"} <= set(ignored)


def test_the_proxy_passes_the_live_stream_unbuffered_and_serves_the_static_files() -> None:
    caddy = (ROOT / "deploy" / "caddy" / "Caddyfile").read_text()
    block = caddy.split(f"handle {stream.PATH} {{", 1)[1].split("\n\thandle", 1)[0]
    assert "flush_interval -1" in block and "read_timeout 0" in block
    assert "handle_path /static/*" in caddy and "handle_path /vendor/bpmn-js/*" in caddy


# -- compose -----------------------------------------------------------------------------------------------


def test_the_compose_file_follows_the_compose_specification() -> None:
    checked = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
                              str(COMPOSE)], capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_compose_file_is_rejected_by_the_check_when_broken(tmp_path: Path) -> None:
    broken = compose()
    broken["services"]["beat"]["dependson"] = broken["services"]["beat"].pop("depends_on")  # a typo
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken))
    checked = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
                              str(path)], capture_output=True, text=True, timeout=120)
    assert checked.returncode == 1 and "dependson" in checked.stdout


def test_compose_runs_every_process_after_the_migration_and_exactly_one_beat() -> None:
    services = compose()["services"]
    hall = {name: s for name, s in services.items() if is_hall_image(s.get("image", ""))}
    for name, service in hall.items():
        assert_runs(service["command"])
        unknown = set(service["environment"]) - SETTINGS - NOT_SETTINGS
        assert not unknown, f"{name}: {unknown}"
        if name not in ("db-init", "migrate"):
            assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
    assert services["migrate"]["depends_on"]["db-init"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"][0] == "migrate"
    beats = [s for s in hall.values() if s["command"] == ["beat"]]
    assert len(beats) == 1 and beats[0]["deploy"]["replicas"] == 1
    assert [s["command"] for s in hall.values() if s["command"] == ["heavy"]] == [["heavy"]]
    served = {q for s in hall.values() if s["command"][0] == "worker" for q in s["command"][1].split(",")}
    assert served == set(SERVICES)  # every service's events have a worker
    for name in WEB:
        web = hall[name]
        assert web["command"] == (["gateway"] if name == "gateway" else ["service", name])
        assert web["healthcheck"]["test"][-1] == f"http://127.0.0.1:{DEFAULT_PORTS[name]}/health/ready"
    settings = hall["auth"]["environment"]
    databases = {settings[f"HALL_{s.upper()}_DATABASE_URL"].rsplit("/", 1)[1] for s in SERVICES}
    assert len(databases) == len(SERVICES)  # one database per service
    assert all(settings[f"HALL_{s.upper()}_URL"] == f"http://{s}:{DEFAULT_PORTS[s]}" for s in SERVICES)
    assert "--appendonly" in services["redis"]["command"]
    assert services["proxy"]["depends_on"] == {"gateway": {"condition": "service_healthy"}}


def test_compose_sends_every_process_traces_to_a_pinned_jaeger() -> None:
    services = compose()["services"]
    jaeger = services["jaeger"]
    assert re.fullmatch(r"jaegertracing/jaeger:\d+\.\d+\.\d+", jaeger["image"])  # an exact version
    assert jaeger["ports"] == ["127.0.0.1:16686:16686"]  # the UI to this host only
    for name, service in services.items():
        if is_hall_image(service.get("image", "")):
            environment = service["environment"]
            assert environment["HALL_OTEL_EXPORTER"] == "${HALL_OTEL_EXPORTER-otlp}", name
            assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"].endswith("http://jaeger:4318}"), name
            assert "jaeger" not in service.get("depends_on", {}), name  # the hall never waits for its traces


# -- Kubernetes --------------------------------------------------------------------------------------------


def test_every_manifest_passes_the_kubernetes_schema_strictly() -> None:
    docs = manifests()
    assert len(docs) > 30
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_a_wrong_manifest_is_refused_by_the_kubernetes_schema() -> None:
    deployment = dict(by_kind("Deployment")["hall-gateway"])
    deployment["spec"] = {**deployment["spec"], "replica": 2}  # a typo the cluster would silently drop
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    return deployment["spec"]["template"]["spec"]["containers"]  # type: ignore[no-any-return]


def test_kubernetes_runs_each_web_process_with_probes_resources_a_service_and_an_autoscaler() -> None:
    deployments, services, hpas = by_kind("Deployment"), by_kind("Service"), by_kind("HorizontalPodAutoscaler")
    for name in WEB:
        (container,) = containers(deployments[f"hall-{name}"])
        assert container["args"] == (["gateway"] if name == "gateway" else ["service", name])
        assert container["ports"] == [{"name": "http", "containerPort": DEFAULT_PORTS[name]}]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert services[f"hall-{name}"]["spec"]["ports"][0]["port"] == DEFAULT_PORTS[name]
        assert f"hall-{name}" in hpas
    for name, deployment in deployments.items():
        for container in containers(deployment):
            assert {"requests", "limits"} <= set(container["resources"]), name
            if is_hall_image(container["image"]):
                assert_runs(container["args"])
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    for hpa in hpas.values():
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments
    for service in services.values():
        assert service["spec"]["selector"]["app.kubernetes.io/name"] in deployments


def test_kubernetes_workers_cover_every_queue_and_beat_is_one_replica_never_scaled() -> None:
    deployments, hpas = by_kind("Deployment"), by_kind("HorizontalPodAutoscaler")
    args = {name: containers(d)[0]["args"] for name, d in deployments.items() if containers(d)[0].get("args")}
    served = {q for a in args.values() if a[0] == "worker" for q in a[1].split(",")}
    assert served == set(SERVICES)
    assert all(f"hall-worker-{s}" in hpas for s in SERVICES) and "hall-heavy" in hpas
    beats = [name for name, a in args.items() if a == ["beat"]]
    assert beats == ["hall-beat"]
    beat = deployments["hall-beat"]
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"] == {"type": "Recreate"}
    assert all(h["spec"]["scaleTargetRef"]["name"] != "hall-beat" for h in hpas.values())
    # Warm shutdown gets longer than an event's hard time limit; the heavy worker longer still.
    grace = {name: d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] for name, d in deployments.items()}
    assert all(grace[f"hall-worker-{s}"] > Settings().event_hard_time_limit for s in SERVICES)
    assert grace["hall-heavy"] >= 600
    (job,) = by_kind("Job").values()
    assert containers_of_job(job)[0]["args"] == ["migrate"]


def test_every_pod_that_builds_the_auth_app_has_the_ukey_ca_and_the_others_do_not() -> None:
    """The auth app refuses to start without its CA (services/auth/keys.py): its web pods, the worker of
    its queue, the heavy worker and beat (which build every service's app) and the migration Job."""
    pods = {name: d["spec"]["template"]["spec"] for name, d in by_kind("Deployment").items()}
    pods.update({name: j["spec"]["template"]["spec"] for name, j in by_kind("Job").items()})
    for name, pod in pods.items():
        (container,) = pod["containers"]
        if not is_hall_image(container["image"]):
            continue
        args = container["args"]
        (keys,) = [v["secret"] for v in pod["volumes"] if v["name"] == "hall-keys"]
        paths = {item["path"] for item in keys["items"]}
        builds_auth = args in (["service", "auth"], ["heavy"], ["beat"], ["migrate"]) or (
            args[0] == "worker" and "auth" in args[1].split(","))
        assert ({"auth_ca_key.pem", "auth_ca_cert.pem"} <= paths) == builds_auth, name
        assert {"print_signing_key", "service_tokens/notify.jwt"} <= paths, name


def containers_of_job(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job["spec"]["template"]["spec"]["containers"]  # type: ignore[no-any-return]


def test_kubernetes_settings_are_real_settings_and_point_at_the_services() -> None:
    (config,) = by_kind("ConfigMap").values()
    (secret,) = by_kind("Secret").values()
    names = set(config["data"]) | set(secret["stringData"])
    assert not names - SETTINGS - NOT_SETTINGS
    assert {f"HALL_{s.upper()}_DATABASE_URL" for s in SERVICES} <= set(secret["stringData"])
    services = by_kind("Service")
    for s in SERVICES:
        assert config["data"][f"HALL_{s.upper()}_URL"] == f"http://hall-{s}:{DEFAULT_PORTS[s]}"
        assert f"hall-{s}" in services
    assert set(COMMANDS) >= {"service", "gateway", "worker", "heavy", "beat", "migrate"}
    # Traces leave over OTLP/HTTP to the address the ConfigMap names (the collector's 4318).
    assert Settings(otel_exporter=config["data"]["HALL_OTEL_EXPORTER"]).otel_exporter == "otlp"
    assert re.fullmatch(r"https?://[\w.-]+:4318", config["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"])
