"""A local identity-provider stand-in for sign-in tests, served over TLS on 127.0.0.1.

``IdentityProvider`` answers what azure-identity and MSAL call: OpenID discovery, instance
discovery, the device-code endpoint and the token endpoint (device code, refresh token, client
secret, client certificate). ``gated_graph`` serves the sandbox behind a gate that accepts only
the stand-in's live access tokens, so a run proves which token it used. Every token is made up
at test time; none is ever written to a fixture.
"""

from tests.idp.gate import GatedGraph, gated_graph
from tests.idp.server import IdentityProvider, running_identity_provider

__all__ = ["GatedGraph", "IdentityProvider", "gated_graph", "running_identity_provider"]
