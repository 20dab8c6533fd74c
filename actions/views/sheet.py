from django.http import HttpRequest, HttpResponse


def action_detail(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError


def action_update_status(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError


def action_edit(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError
