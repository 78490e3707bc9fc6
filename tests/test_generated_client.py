"""A client generated from `/openapi.json` by openapi-python-client, as real callers make one,
covers every operation and speaks to the real service: an agent_settings request (B2: a maximum
of "suspended") and a JSON validate request are built from its models and answered."""
from __future__ import annotations

import datetime
import importlib
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from fenliu.api.app import create_app
from fenliu.api.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture(scope="module")
def served():
    app = create_app(Settings(rules_dir=ROOT / "rules"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def client_package(served, tmp_path_factory):
    app, _ = served
    work = tmp_path_factory.mktemp("client")
    (work / "openapi.json").write_bytes(app.test_client().get("/openapi.json").get_data())
    generated = subprocess.run([str(GENERATOR), "generate", "--path", "openapi.json", "--meta", "none"],
                               cwd=work, capture_output=True, text=True, timeout=120)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module("fenliu_client")
    finally:
        sys.path.remove(str(work))


def test_every_operation_has_a_generated_function(served, client_package):
    app, _ = served
    document = app.test_client().get("/openapi.json").get_json()
    generated = {path.stem for path in (Path(client_package.__file__).parent / "api" / "default").glob("*.py")}
    for path, operations in document["paths"].items():
        for method in operations:
            name = (method + path.replace("/", "_").replace(".", "_").replace("{", "").replace("}", "")
                    .replace("<", "").replace(">", "")).lower()
            assert name in generated, f"{method.upper()} {path} has no generated function"


def test_a_generated_client_sends_agent_settings_and_validates_a_policy(served, client_package):
    _, base = served
    models = importlib.import_module("fenliu_client.models")
    evaluate = importlib.import_module("fenliu_client.api.default.post_v1_policies_name_evaluate")
    validate = importlib.import_module("fenliu_client.api.default.post_v1_policies_validate")
    client = client_package.Client(base_url=base)

    suspended = models.EvaluateRequestAgentSettingsAgentMaxSessionsType2.SUSPENDED
    request = models.EvaluateRequestAgentSettings(
        event="agent_settings", now=datetime.datetime(2026, 11, 23, 10, tzinfo=datetime.timezone.utc),
        agent=models.EvaluateRequestAgentSettingsAgent(id="a1", status=models.EvaluateRequestAgentSettingsAgentStatus.ONLINE,
                                                       max_sessions=suspended))
    envelope = evaluate.sync(name="kuaishou", client=client, body=request)
    assert isinstance(envelope, models.Envelope), envelope
    assert envelope.decision.to_dict()["action"] == "accept"

    text = (ROOT / "rules" / "douyin.yaml").read_text(encoding="utf-8")
    answer = validate.sync(client=client, body=models.PostV1PoliciesValidateJsonBody(policy=text))
    assert isinstance(answer, models.Validation) and answer.valid
    broken = validate.sync(client=client, body=models.PostV1PoliciesValidateJsonBody(policy="name: [unclosed"))
    assert isinstance(broken, models.Validation) and not broken.valid and broken.errors
