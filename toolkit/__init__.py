"""gongmu (공무): Korean public-administration documents in, a fine-tuned, evaluated,
servable LLM out. The stages are the Python API:

    from toolkit.recipe import load_recipe
    from toolkit.stages import run_stage

    recipe = load_recipe("recipes/quickstart.yaml")
    run_stage(recipe, "corpus")  # or toolkit.corpus.stage.run(recipe)

The layers and how to extend them: docs/architecture.md.
"""

import os

# Offline by construction: nothing in gongmu may fetch weights, datasets, metric scripts
# or send telemetry. Set before transformers, datasets or mlflow are imported.
for _var, _value in {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ[_var] = _value
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")

__version__ = "0.1.0"
