import os
import subprocess
import sys


def _run(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS",)}
    out = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_leaves_xla_flags_and_devices_alone():
    # importing bayescale once rewrote XLA_FLAGS (through jax._src), changing the devices
    # every other JAX program in the process saw
    code = "import os, jax, bayescale; print(os.environ.get('XLA_FLAGS'), jax.device_count())"
    assert _run(code) == "None 1"


def test_use_host_devices_is_one_explicit_call():
    code = "import jax, bayescale; bayescale.use_host_devices(3); print(jax.device_count())"
    assert _run(code) == "3"
    code = "import jax, bayescale; print(bayescale.use_host_devices(), jax.device_count())"
    assert _run(code, BAYESCALE_HOST_DEVICES="0") == "0 1"
