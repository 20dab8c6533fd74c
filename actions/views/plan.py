from django.http import HttpRequest, HttpResponse


def action_list(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def export_csv(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def export_xlsx(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
