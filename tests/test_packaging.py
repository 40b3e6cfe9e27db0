"""The wheel is the whole application: installed outside the checkout, it deploys its own
processes and forms, runs a case and serves the browser bundles (issue 15: the Docker image's
non-editable install pointed its processes and forms folders into site-packages, and
``guanjia init-db`` failed; issue 20: the bundles moved out of ``server/`` to frontend/dist).

The wheel is built from a copy of the sources, installed without dependencies into a fresh
venv in a temporary folder; the venv reaches the already installed dependencies through a
``.pth`` line (no download), never the checkout itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "server", "workers", "processes", "forms",
           "frontend/dist")

STEP = textwrap.dedent('''
    import json, sys
    from pathlib import Path
    import server
    from server import create_app
    app = create_app()
    settings = app.config["GUANJIA"]
    client = app.test_client()
    token = client.post("/api/v1/auth/token",
                        json={"username": "zhaoshang", "password": "guanjia-demo"}).json["token"]
    auth = {"Authorization": f"Bearer {token}"}
    tasks = client.get("/api/v1/tasks", headers=auth).json["items"]
    review = [t for t in tasks if t["element_id"] == "review_application"][0]
    form = client.get(f"/api/v1/tasks/{review['id']}", headers=auth).json["form"]
    done = client.post(f"/api/v1/tasks/{review['id']}/complete", headers=auth, json={"data": {
        "review_decision": "approve", "review_opinion": "材料齐全，同意受理"}})
    after = client.get(f"/api/v1/cases/{review['case_id']}", headers=auth)
    bundle = client.get("/static/vendor/bpmn/viewer.js")
    print(json.dumps({"server": server.__file__, "processes": str(settings.processes_dir),
                      "forms": str(settings.forms_dir), "form": form["id"],
                      "status": done.status_code, "case": after.status_code,
                      "bundle": [bundle.status_code, len(bundle.data)]}))
''')


def _run(args: list[str], *, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])
    return done.stdout


def test_the_wheel_installed_outside_the_checkout_deploys_and_runs_a_case(
        tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, source / name)
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("GUANJIA_", "PYTHON", "VIRTUAL_ENV"))}
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", str(tmp_path / "dist"), "."], cwd=source, env=base_env)
    wheel = next((tmp_path / "dist").glob("guanjia-*.whl"))

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path,
         env=base_env)
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig;print(sysconfig.get_paths()"
                      "['purelib'])"], cwd=tmp_path, env=base_env).strip())
    # The dependencies already installed, reached by path: the checkout's editable hook in
    # that folder is a .pth of its own, which a path added this way does not run.
    (site / "_guanjia_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "-q", str(wheel)], cwd=tmp_path, env=base_env)

    shutil.rmtree(source)  # nothing may be read from the sources either
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    env = base_env | {"GUANJIA_MODE": "embedded",
                      "GUANJIA_DATABASE_URL": f"sqlite:///{run_dir / 'guanjia.sqlite'}",
                      "GUANJIA_INSTANCE_DIR": str(run_dir / "instance")}
    guanjia = str(venv / "bin" / "guanjia")
    assert "deployment 1 is current" in _run([guanjia, "init-db"], cwd=run_dir, env=env)
    _run([guanjia, "seed-demo"], cwd=run_dir, env=env)
    result = json.loads(_run([str(python), "-c", STEP], cwd=run_dir, env=env)
                        .strip().splitlines()[-1])

    assert Path(result["server"]).is_relative_to(venv), result
    for folder in ("processes", "forms"):
        assert Path(result[folder]).is_relative_to(venv), result
        assert not Path(result[folder]).is_relative_to(ROOT), result
    assert result["form"] == "application_review"
    assert result["status"] == 200 and result["case"] == 200, result
    # The browser bundles come from the wheel's share/guanjia/vendor, byte for byte the build's.
    viewer = ROOT / "frontend" / "dist" / "bpmn" / "viewer.js"
    assert result["bundle"] == [200, viewer.stat().st_size], result
