import Supervisor
// placeholder main replaced below
