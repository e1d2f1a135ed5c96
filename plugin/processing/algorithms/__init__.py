"""One module per algorithm; all share :mod:`.base`. Importing them imports no torch."""
from .ask import AskAlgorithm
from .caption import CaptionAlgorithm
from .change import ChangeAlgorithm
from .detect import DetectAlgorithm
from .index import IndexAlgorithm
from .search import SearchAlgorithm
from .search_index import SearchIndexAlgorithm
from .segment import SegmentAlgorithm

ALGORITHMS = (CaptionAlgorithm, AskAlgorithm, DetectAlgorithm, SegmentAlgorithm, ChangeAlgorithm,
              SearchAlgorithm)
ALGORITHMS += (IndexAlgorithm, SearchIndexAlgorithm)

__all__ = ["ALGORITHMS"]
