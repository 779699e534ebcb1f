/**
 * Where scripts/bootstrap-majors.sh installs what other PostgreSQL majors need (its MR_CACHE_DIR default): servers
 * under `server/<major>/`, client tools under `client/<major>/bin`. Outside the clone, so every checkout on the machine
 * shares one cache and a second bootstrap is a no-op.
 */
export const MAJORS_CACHE_DIR = '/var/cache/migration-rehearsal';
