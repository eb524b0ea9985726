"""Recipes: the typed schema (`schema`: the one place a key is added), loading with
`extends` and `key=value` overrides (`load`), and the helpers both share (`fields`)."""

from toolkit.recipe.fields import Locations, content_hash
from toolkit.recipe.load import dump_yaml, load_recipe, recipe_json_schema
from toolkit.recipe.schema import (
    CorpusSection,
    CorpusSource,
    EvalSection,
    ExportSection,
    ModelSection,
    QloraSection,
    Recipe,
    ReportSection,
    TeacherSection,
    TrainSection,
)

__all__ = [
    "CorpusSection", "CorpusSource", "EvalSection", "ExportSection", "Locations",
    "ModelSection", "QloraSection", "Recipe", "ReportSection", "TeacherSection",
    "TrainSection", "content_hash", "dump_yaml", "load_recipe", "recipe_json_schema",
]
