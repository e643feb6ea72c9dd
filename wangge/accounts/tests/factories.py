import itertools
from typing import Any

import factory

from wangge.accounts.models import Membership, User

_mobiles = itertools.count(13800000000)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"测试用户{n}")
    mobile = factory.LazyFunction(lambda: str(next(_mobiles)))
    password = factory.django.Password("wangge-test-pass")


def member(user: User, role: str, *, unit: Any = None, department: Any = None) -> Membership:
    return Membership.objects.create(user=user, role=role, unit=unit, department=department)
