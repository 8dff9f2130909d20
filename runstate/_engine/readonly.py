"""The read-only cattrs converter class (``runstate.converter`` is one).

Apart from :mod:`runstate._engine.serde` because it subclasses ``cattrs.Converter``:
importing it imports cattrs, which only a program that uses a converter needs
(:func:`runstate._engine.serde.read_only_converter` imports it on first use).
"""

from __future__ import annotations

from typing import Any

import cattrs

from .serde import ReadOnlyConverterError

__all__ = ["ReadOnlyConverter"]


class ReadOnlyConverter(cattrs.Converter):
    """A cattrs converter that refuses every ``register_*`` call and setting once frozen.

    ``copy()`` (cattrs' own) gives a changeable converter with the same hooks.
    """

    __slots__ = ("_frozen",)
    _frozen: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        object.__setattr__(self, "_frozen", False)
        super().__init__(*args, **kwargs)

    def _refuse(self, what: str) -> None:
        if self._frozen:
            raise ReadOnlyConverterError(
                f"runstate.converter is shared and read-only ({what}); make your own with "
                "runstate.make_converter() or runstate.converter.copy()"
            )

    def __setattr__(self, name: str, value: Any) -> None:
        self._refuse(f"cannot set {name}")
        super().__setattr__(name, value)

    def register_structure_hook(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse("register_structure_hook")
        return super().register_structure_hook(*args, **kwargs)

    def register_structure_hook_func(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse("register_structure_hook_func")
        return super().register_structure_hook_func(*args, **kwargs)

    def register_structure_hook_factory(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse("register_structure_hook_factory")
        return super().register_structure_hook_factory(*args, **kwargs)

    def register_unstructure_hook(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse("register_unstructure_hook")
        return super().register_unstructure_hook(*args, **kwargs)

    def register_unstructure_hook_func(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse("register_unstructure_hook_func")
        return super().register_unstructure_hook_func(*args, **kwargs)

    def register_unstructure_hook_factory(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse("register_unstructure_hook_factory")
        return super().register_unstructure_hook_factory(*args, **kwargs)
