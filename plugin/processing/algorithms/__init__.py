"""One module per algorithm; all share :mod:`.base`. Importing them imports no torch."""
from .ask import AskAlgorithm
from .caption import CaptionAlgorithm
from .change import ChangeAlgorithm
from .detect import DetectAlgorithm
from .evaluate import EvaluateAlgorithm
from .index import IndexAlgorithm
from .label import LabelAlgorithm
from .search import SearchAlgorithm
from .search_index import SearchIndexAlgorithm
from .segment import SegmentAlgorithm

ALGORITHMS = (CaptionAlgorithm, AskAlgorithm, DetectAlgorithm, SegmentAlgorithm, ChangeAlgorithm,
              SearchAlgorithm)
ALGORITHMS += (IndexAlgorithm, SearchIndexAlgorithm)
ALGORITHMS += (LabelAlgorithm, EvaluateAlgorithm)

__all__ = ["ALGORITHMS"]
