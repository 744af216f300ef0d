async def test_healthz_answers_while_the_process_is_alive(api):
    response = await api.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_the_database_reachable(api):
    response = await api.http.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


async def test_every_response_carries_a_request_id(api):
    response = await api.http.get("/healthz")
    assert len(response.headers["x-request-id"]) >= 16


async def test_a_well_formed_client_request_id_is_kept(api):
    response = await api.http.get("/healthz", headers={"X-Request-ID": "client-id-12345"})
    assert response.headers["x-request-id"] == "client-id-12345"


async def test_graphiql_is_served_outside_production(api):
    response = await api.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
