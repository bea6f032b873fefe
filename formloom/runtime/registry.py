"""One generic registry for every family of kinds (fields, views, widgets, flow nodes, ...).

Modelled on Baserow's `core/registry.py`: an `Instance` has a required `type`, a `Registry`
maps type names to instances and raises typed errors.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar


class RegistryError(Exception):
    pass


class DoesNotExist(RegistryError, KeyError):
    def __init__(self, registry: str, type_name: str):
        super().__init__(f"{registry}: no kind named {type_name!r}")
        self.registry = registry
        self.type_name = type_name

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]


class AlreadyRegistered(RegistryError):
    pass


class Instance:
    """A kind in a registry. Subclasses set `type`."""

    type: str = ""


T = TypeVar("T", bound=Instance)


class Registry(Generic[T]):
    def __init__(self, name: str):
        self.name = name
        self._items: dict[str, T] = {}

    def register(self, instance: T) -> T:
        if not instance.type:
            raise RegistryError(f"{self.name}: {type(instance).__name__} has no type")
        if instance.type in self._items:
            raise AlreadyRegistered(f"{self.name}: {instance.type!r} is registered already")
        self._items[instance.type] = instance
        return instance

    def get(self, type_name: str) -> T:
        try:
            return self._items[type_name]
        except KeyError:
            raise DoesNotExist(self.name, type_name) from None

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(self._items.values())

    def types(self) -> list[str]:
        return sorted(self._items)
