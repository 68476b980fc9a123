package targetconf

import "fmt"

// Container says how the container driver runs a target: the gateway image
// is Gateway.Image (empty: the reference gateway's image, built FROM scratch
// from Gateway.Package and the Dockerfile next to it); the rest is here.
// Every empty field has a default that needs no registry.
type Container struct {
	// Port is the port a replica listens on inside its container: the
	// driver sets MCPGW_LISTEN=0.0.0.0:<port> (and .Listen/.Port in argument
	// templates) and maps it to a loopback port of the host. Default 8080.
	Port int `yaml:"port"`
	// RedisImage runs Redis for multi-replica specs, e.g. redis:7 where a
	// registry is reachable. Empty: an image built FROM scratch from the
	// host's redis-server and the libraries it links.
	RedisImage string `yaml:"redisImage"`
	// CounterImage and WedgeImage run the fake upstreams. Empty: built FROM
	// scratch from servers/counter and servers/wedge.
	CounterImage string `yaml:"counterImage"`
	WedgeImage   string `yaml:"wedgeImage"`
	// Network is an existing Docker network to run on. Empty: one network
	// per run, removed afterwards.
	Network string `yaml:"network"`
}

// DefaultContainerPort is where a replica listens inside its container.
const DefaultContainerPort = 8080

// Environment variables of the container driver, read by Load.
const (
	EnvGatewayImage = "MCPCONF_GATEWAY_IMAGE" // gateway image (target file: gateway.image)
	EnvRedisImage   = "MCPCONF_REDIS_IMAGE"   // Redis image, e.g. redis:7
	EnvCounterImage = "MCPCONF_COUNTER_IMAGE" // counter fake image
	EnvWedgeImage   = "MCPCONF_WEDGE_IMAGE"   // wedge fake image
	EnvNetwork      = "MCPCONF_NETWORK"       // existing Docker network
	// EnvContainerRun names the run whose containers, network and images a
	// suite process belongs to (set by suites/cmd/withcontainers); the
	// fixture labels what it starts with it.
	EnvContainerRun = "MCPCONF_CONTAINER_RUN"
)

// loadContainer applies the container driver's variables and defaults.
func (t *Target) loadContainer(getenv func(string) string) error {
	for env, field := range map[string]*string{
		EnvGatewayImage: &t.Gateway.Image,
		EnvRedisImage:   &t.Container.RedisImage,
		EnvCounterImage: &t.Container.CounterImage,
		EnvWedgeImage:   &t.Container.WedgeImage,
		EnvNetwork:      &t.Container.Network,
	} {
		if v := getenv(env); v != "" {
			*field = v
		}
	}
	if t.Container.Port == 0 {
		t.Container.Port = DefaultContainerPort
	}
	if t.Container.Port < 1 || t.Container.Port > 65535 {
		return fmt.Errorf("target %s: container.port %d is not a TCP port", t.Name, t.Container.Port)
	}
	if t.Driver == DriverContainer && t.Gateway.Image == "" && t.Gateway.Package == "" {
		return fmt.Errorf("target %s: the container driver needs gateway.image (or gateway.package to build the image from, with a Dockerfile next to it)", t.Name)
	}
	return nil
}
