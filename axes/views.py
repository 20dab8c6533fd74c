from django.http import HttpRequest, HttpResponse


def dashboard(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def strategy_detail(request: HttpRequest, slug: str) -> HttpResponse:
    raise NotImplementedError


def axis_detail(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError
