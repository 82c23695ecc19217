#pragma once
#include <string>
#include <vector>

namespace tether::app {

int coap_client(const std::vector<std::string>& args);
int coap_serve(const std::vector<std::string>& args);
int lwm2m_command(const std::vector<std::string>& args);
int server_command(const std::vector<std::string>& args);
int bootstrap_command(const std::vector<std::string>& args);
int client_command(const std::vector<std::string>& args);
int lorawan_ns_command(const std::vector<std::string>& args);
int scef_command(const std::vector<std::string>& args);
int bench_register(const std::vector<std::string>& args);
int bench_coap_echo(const std::vector<std::string>& args);
int bench_mqtt(const std::vector<std::string>& args);
int bench_lorawan(const std::vector<std::string>& args);
int bench_mqtt_echo(const std::vector<std::string>& args);
int bench_http(const std::vector<std::string>& args);
int bench_http_echo(const std::vector<std::string>& args);

}  // namespace tether::app
