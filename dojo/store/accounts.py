"""Users and roles: add, find, authenticate, change a role or a password."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dojo.store.passwords import _dummy_hash, check_password_strength, hash_password, verify_password
from dojo.store.tables import ROLES, StoreError, User, _named


class Accounts:
    """Mixed into `Store`: needs `self.session()`."""

    def add_user(self, name: str, role: str, password: str | None = None) -> User:
        name = name.strip()
        if not name or len(name) > 64:
            raise StoreError(f"user name {name!r}: use 1 to 64 characters")
        if role not in ROLES:
            raise StoreError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if self.find_user(name) is not None:
            raise StoreError(f"user {name!r} already exists")
        if password is not None:
            check_password_strength(password)
        try:
            with self.session() as s:
                user = User(name=name, role=role, password_hash=hash_password(password) if password else None)
                s.add(user)
        except IntegrityError:  # added by someone else since we looked
            raise StoreError(f"user {name!r} already exists") from None
        return user

    def user(self, name: str) -> User:
        with self.session() as s:
            return _named(s, name)

    def find_user(self, name: str) -> User | None:
        with self.session() as s:
            return s.scalar(select(User).where(User.name == name))

    def users(self) -> list[User]:
        with self.session() as s:
            return list(s.scalars(select(User).order_by(User.name)))

    def set_role(self, name: str, role: str) -> None:
        if role not in ROLES:
            raise StoreError(f"role {role!r} is not one of {', '.join(ROLES)}")
        with self.session() as s:
            _named(s, name).role = role

    def set_password(self, name: str, password: str) -> None:
        check_password_strength(password)
        with self.session() as s:
            _named(s, name).password_hash = hash_password(password)

    def authenticate(self, name: str, password: str) -> User | None:
        user = self.find_user(name)
        if user is None:
            verify_password(password, _dummy_hash())  # same work whether or not the name exists
            return None
        return user if verify_password(password, user.password_hash) else None

    def agent(self, name: str, role: str = "trainee") -> User:
        """The user a recorded practice session belongs to; an unknown name becomes a user without a
        password (it cannot log in until an admin sets one). Safe when two requests ask at once."""
        user = self.find_user(name)
        if user is not None:
            return user
        try:
            return self.add_user(name, role)
        except StoreError:  # created by a concurrent request since we looked
            found = self.find_user(name)
            if found is None:
                raise
            return found
