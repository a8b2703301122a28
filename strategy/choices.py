"""Named values for the strategy app, each with a label for people. Each set of values is its
own ``TextChoices``: alike in shape, different in meaning."""

from django.db import models


class OrganisationKind(models.TextChoices):
    DEPARTMENT = "department", "Government department"
    POLICE_FORCE = "police_force", "Police force"
    POLICING_BODY = "policing_body", "Policing body (e.g. a police and crime commissioner)"
    PARLIAMENT_BODY = "parliament_body", "Parliament body"
    PUBLIC_BODY = "public_body", "Other public body"
    LOCAL_AUTHORITY = "local_authority", "Local authority"
    CHARITY = "charity", "Charity or voluntary organisation"
    COMPANY = "company", "Company"
    PARTY = "party", "Political party"
    MEDIA = "media", "News organisation"
    OTHER = "other", "Other"


class SourceKind(models.TextChoices):
    GOVERNMENT = "government", "Government publication"
    PARLIAMENT = "parliament", "Parliamentary record"
    LEGISLATION = "legislation", "Legislation"
    NEWS = "news", "News report"
    STATISTICS = "statistics", "Statistics"
    OTHER = "other", "Other"
