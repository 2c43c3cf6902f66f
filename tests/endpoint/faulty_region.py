"""TEST-ONLY fault injection: the real Region, failing after a real change.

``CreateCluster`` of a cluster named ``boom-internal`` makes the cluster (the
real code path) and then raises, as a bug half-way through an operation would;
the endpoint must answer 500 and rebuild the region without the call.
"""

from quaymaster.region import Region


class FaultyRegion(Region):
    def create_cluster(self, request: dict) -> dict:
        answer = super().create_cluster(request)
        if request.get("clusterName") == "boom-internal":
            raise RuntimeError("injected failure after a partial change")
        return answer
