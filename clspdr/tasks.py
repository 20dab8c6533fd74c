"""Celery tasks of the platform itself: thin adapters over services."""

from __future__ import annotations

from importlib import import_module

from celery import shared_task
from django.conf import settings

from clspdr.heartbeats import heartbeat_record
from clspdr.models import Heartbeat


@shared_task
def clear_expired_sessions_task() -> None:
    """Hourly, from beat: what `manage.py clearsessions` does. Expired sessions are refused
    anyway, but they stay in the database until deleted, and they grow without end."""
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()


@shared_task(ignore_result=True)
def heartbeat_task() -> None:
    """Every minute from beat: proves a worker takes work (clspdr/heartbeats.py)."""
    heartbeat_record(process=Heartbeat.Process.WORKER)
