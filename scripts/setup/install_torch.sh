#!/usr/bin/env bash
# Install torch into the given Python environment without ever pulling a multi-GB CUDA
# build onto a machine that has no GPU.
#   scripts/setup/install_torch.sh .venv/bin/python
set -euo pipefail
PY=${1:-python3}
VERSION=${TORCH_VERSION:-2.13.0}
if "$PY" -c "import torch" 2>/dev/null; then
  echo "torch $("$PY" -c 'import torch; print(torch.__version__)') already installed"
  exit 0
fi
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  # A GPU: PyPI's Linux wheel is the CUDA build.
  "$PY" -m pip install --no-compile "torch==$VERSION"
elif "$PY" -m pip install --no-compile --no-index --no-deps "torch==$VERSION" 2>/dev/null; then
  # A CPU wheel pip can already see (a find-links folder, as on our dev and CI machines);
  # now fetch torch's small dependencies from the index.
  "$PY" -m pip install --no-compile "torch==$VERSION"
else
  # No GPU, no local wheel: PyTorch's CPU-only index.
  "$PY" -m pip install --no-compile "torch==$VERSION" --index-url https://download.pytorch.org/whl/cpu \
    --extra-index-url https://pypi.org/simple
fi
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda' if torch.cuda.is_available() else 'cpu')"
