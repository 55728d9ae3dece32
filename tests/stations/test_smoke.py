def test_admin_creates_a_station(client, staff):
    admin = staff("admin")
    response = client.post(
        "/api/v1/stations", json={"code": "S001", "name": "北京路站"}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["code"] == "S001"
    assert client.get("/api/v1/stations/S001", headers=admin.headers).json()["is_open"] is True
