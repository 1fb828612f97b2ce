from __future__ import annotations


class PublicCacheMiddleware:
    """Keep responses marked `kassa_public` shareable by nginx/CDN caches.

    It sits outside the session, CSRF and device-cookie middleware, so it sees
    their cookies and Vary headers and drops them: a public, identical-for-
    everyone answer must carry no Set-Cookie and no Vary: Cookie.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(response, "kassa_public", False):
            response.cookies.clear()
            if response.has_header("Vary"):
                del response["Vary"]
        return response
