/**
 * Safe defaults: every component of the native stack listens on loopback only. The stack under
 * test is found by its pid files (each component leads a process group of its own), and every
 * listening TCP socket of every process in those groups is read from /proc, as `ss -ltnp` does.
 */
import path from 'node:path';
import { allComponents } from '@infra/stack/components';
import { isAlive, readPid } from '@infra/stack/processes';
import { nativeStack } from '@test/harness/native';
import { listeningSockets, processesInGroups } from '@test/harness/sockets';

const paths = { logs: path.join(nativeStack.dir, 'logs'), run: path.join(nativeStack.dir, 'run') };
const components = allComponents(nativeStack).flatMap((component) => {
  const pid = readPid(paths, component.name);
  return pid !== undefined && isAlive(pid) ? [{ component, pid }] : [];
});
// Endpoints from containers or elsewhere: there is no native stack of this run to look at.
const describeOnNativeStack = components.length > 0 ? describe : describe.skip;

describeOnNativeStack('the native stack', () => {
  it('listens on 127.0.0.1 only, every port of every component', () => {
    const seen = components.map(({ component, pid }) => {
      const sockets = listeningSockets(processesInGroups([pid]));
      return {
        component: component.name,
        ports: [...new Set(sockets.map((socket) => socket.port))].sort(),
        addresses: [...new Set(sockets.map((socket) => socket.address))],
      };
    });
    expect(seen).toEqual(
      components.map(({ component }) => ({
        component: component.name,
        // At least its configured ports (a JVM may open no others; if it did, they are checked too).
        ports: expect.arrayContaining(component.ports) as unknown as number[],
        addresses: ['127.0.0.1'],
      })),
    );
    expect(components.map(({ component }) => component.name)).toEqual([
      'kafka',
      'registry',
      'mongo',
      'prometheus',
    ]);
  });
});
