import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HubError, createTurns } from '../platform';
import { displayPath, type StackPaths } from './paths';
import { runLogged } from './processes';

export const kafkaVersion = '3.9.2';
export const apicurioVersion = '3.3.3';
const apicurioArtifact = `io.apicurio:apicurio-registry-app:${apicurioVersion}:tar.gz:all`;

// Two Maven runs writing the same local repository at once can leave half-written files behind
// (both fetch maven-dependency-plugin on an empty cache), so the stack's Maven runs queue up.
const mavenTurns = createTurns();

async function maven(component: string, paths: StackPaths, goals: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  await mavenTurns.take(async () => {
    const logFile = join(paths.logsDir, 'maven.log');
    const args = [
      '-B',
      '-f',
      join(paths.deployDir, 'pom.xml'),
      `-Dmaven.repo.local=${paths.m2Dir}`,
      `-Dhub.cache.dir=${paths.cacheDir}`,
      ...goals,
    ];
    let code: number;
    try {
      code = await runLogged(env.HUB_MVN ?? 'mvn', args, { cwd: paths.deployDir, env, logFile });
    } catch (error) {
      throw new HubError(
        'STACK_FAILED',
        `${component}: could not run Maven (${env.HUB_MVN ?? 'mvn'}): ${(error as Error).message}; install Maven 3.8+ or set HUB_MVN`,
        { cause: error, detail: { component } },
      );
    }
    if (code !== 0) {
      throw new HubError('STACK_FAILED', `${component}: Maven failed (exit ${code}); see ${displayPath(logFile)}`, {
        detail: { component, log: logFile },
      });
    }
  });
}

/**
 * The classpath of the Kafka broker, resolved by Maven once and remembered in the cache, keyed by
 * the pom's content: a warm `stack up` starts Kafka without paying for a Maven run.
 */
export async function kafkaClasspath(paths: StackPaths, env: NodeJS.ProcessEnv, progress: (line: string) => void): Promise<string> {
  const pom = readFileSync(join(paths.deployDir, 'pom.xml'));
  const key = createHash('sha256').update(pom).digest('hex').slice(0, 16);
  const file = join(paths.cacheDir, `kafka-${kafkaVersion}-classpath-${key}.txt`);
  if (existsSync(file)) {
    const classpath = readFileSync(file, 'utf8').trim();
    if (classpath !== '' && classpath.split(':').every((jar) => existsSync(jar))) return classpath;
  }
  mkdirSync(paths.cacheDir, { recursive: true });
  progress(`kafka: resolving Kafka ${kafkaVersion} with Maven into ${paths.m2Dir} (downloads ~60 MB on the first run)`);
  const partial = `${file}.partial-${process.pid}`;
  await maven('kafka', paths, ['dependency:build-classpath', `-Dmdep.outputFile=${partial}`], env);
  const classpath = readFileSync(partial, 'utf8').trim();
  rmSync(partial, { force: true });
  if (classpath === '') throw new HubError('STACK_FAILED', 'kafka: Maven returned an empty classpath', { detail: { component: 'kafka' } });
  writeFileSync(file, `${classpath}\n`);
  return classpath;
}

/** Apicurio Registry's all-in-one distribution, unpacked once into the cache; returns its directory. */
export async function apicurioHome(paths: StackPaths, env: NodeJS.ProcessEnv, progress: (line: string) => void): Promise<string> {
  const home = join(paths.cacheDir, `apicurio-registry-${apicurioVersion}`);
  if (existsSync(join(home, 'quarkus-run.jar'))) return home;
  mkdirSync(paths.cacheDir, { recursive: true });
  progress(`registry: downloading Apicurio Registry ${apicurioVersion} with Maven (158 MB, first run only; can take minutes)`);
  // Unpack beside the final place and rename: an interrupted first run leaves no half-unpacked registry.
  const partial = `${home}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  await maven('registry', paths, ['dependency:unpack', `-Dartifact=${apicurioArtifact}`, `-DoutputDirectory=${partial}`], env);
  if (!existsSync(join(partial, 'quarkus-run.jar'))) {
    throw new HubError('STACK_FAILED', `registry: ${apicurioArtifact} unpacked without quarkus-run.jar`, {
      detail: { component: 'registry' },
    });
  }
  if (!existsSync(join(home, 'quarkus-run.jar'))) {
    rmSync(home, { recursive: true, force: true });
    renameSync(partial, home);
  } else {
    rmSync(partial, { recursive: true, force: true });
  }
  return home;
}
