package dev.vecloss.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vecloss.npy.NpyFiles;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's memory of the JDK it found ({@code target/.vecloss-java}): used while valid,
 * searched for again when stale, and never over a JAVA_HOME that is a JDK 25; and its use of the
 * build's AOT cache ({@code target/vecloss.aot}) only with the JDK and jar that made it. Runs a copy of
 * {@code bin/vecloss} and of the jar in a folder of its own, so the repository's cache file is
 * not touched; fake JDKs are a {@code bin/java} script that prints a marker, and a release file.
 * Opt-in by circumstance as {@link LauncherTest}: skipped without a fresh jar or bash.
 */
class LauncherJavaCacheTest {
    @TempDir
    Path dir;

    Path root;
    Path cache;
    Path realJava;

    @BeforeEach
    void copyLauncherAndJar() throws IOException {
        Path repo = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
        Path launcher = repo.resolve("bin/vecloss");
        assumeTrue(Files.isExecutable(launcher), "no executable bin/vecloss");
        assumeTrue(LauncherTest.onPath("bash"), "no bash");
        Path classes = repo.resolve("target/classes/dev/vecloss/cli/Main.class");
        Path jar;
        try (Stream<Path> s = Files.list(repo.resolve("target"))) {
            jar = s.filter(p -> p.getFileName().toString().matches("vecloss-.*\\.jar"))
                    .filter(p -> !p.getFileName().toString().matches(".*-(sources|javadoc|tests)\\.jar"))
                    .findFirst().orElse(null);
        }
        assumeTrue(jar != null, "no target/vecloss-*.jar yet (run ./mvnw -q package -DskipTests)");
        assumeTrue(!Files.exists(classes)
                        || Files.getLastModifiedTime(jar).compareTo(Files.getLastModifiedTime(classes)) >= 0,
                "target/" + jar.getFileName() + " is older than the compiled classes");
        root = dir.resolve("repo");
        Files.createDirectories(root.resolve("bin"));
        Files.createDirectories(root.resolve("target"));
        Files.copy(launcher, root.resolve("bin/vecloss"), StandardCopyOption.COPY_ATTRIBUTES);
        Files.copy(jar, root.resolve("target").resolve(jar.getFileName()));
        cache = root.resolve("target/.vecloss-java");
        realJava = Path.of(System.getProperty("java.home"), "bin", "java");
        NpyFiles.f64(dir.resolve("x.npy"), new double[] {1, 2, 3, 0.5, -1, 4}, 2, 3);
        NpyFiles.i64(dir.resolve("t.npy"), new long[] {2, 0}, 2);
    }

    record Proc(int status, String out, String err) {}

    /**
     * Runs the copied launcher on the test files with {@code javaHome} as JAVA_HOME (unset when
     * null) and this JVM's bin folder first on PATH, so the search finds a JDK 25 on any machine.
     */
    Proc launch(String javaHome) throws IOException, InterruptedException {
        return launch(javaHome, Map.of());
    }

    /** {@link #launch(String)} with {@code extra} added to the environment. */
    Proc launch(String javaHome, Map<String, String> extra) throws IOException, InterruptedException {
        return launch(javaHome, extra, "cross-entropy", "--input", "x.npy", "--target", "t.npy");
    }

    /** {@link #launch(String, Map)} with {@code args} as the command line. */
    Proc launch(String javaHome, Map<String, String> extra, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("bash", root.resolve("bin/vecloss").toString()));
        cmd.addAll(List.of(args));
        Path out = dir.resolve("stdout.txt");
        Path err = dir.resolve("stderr.txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        Map<String, String> env = pb.environment();
        for (String v : List.of("JAVA_HOME", "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS",
                "VECLOSS_OPTS")) {
            env.remove(v);
        }
        if (javaHome != null) {
            env.put("JAVA_HOME", javaHome);
        }
        env.put("PATH", realJava.getParent() + File.pathSeparator + env.getOrDefault("PATH", "/usr/bin:/bin"));
        env.putAll(extra);
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "launcher timed out");
        return new Proc(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    /** A fake JDK of {@code version} in {@code name}: its java prints "fake NAME" and exits 0. */
    Path fakeJdk(String name, String version) throws IOException {
        return fakeJdk(name, version, "echo fake " + name);
    }

    /** A fake JDK whose java runs {@code script}; its release file has {@code version}+1 as runtime version. */
    Path fakeJdk(String name, String version, String script) throws IOException {
        Path home = dir.resolve(name);
        Files.createDirectories(home.resolve("bin"));
        Path java = home.resolve("bin/java");
        Files.writeString(java, "#!/bin/sh\n" + script + "\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(home.resolve("release"), "IMPLEMENTOR=\"test\"\nJAVA_VERSION=\"" + version
                + "\"\nJAVA_RUNTIME_VERSION=\"" + version + "+1\"\n");
        Files.setLastModifiedTime(java, FileTime.from(Instant.now().minusSeconds(3600)));
        return java;
    }

    void remember(Path java) throws IOException {
        Files.writeString(cache, java + "\n");
    }

    /** What the real JVM prints for the test files (the float64 input: scalar kernels either way). */
    String expected() throws Exception {
        Proc p = launch(System.getProperty("java.home"));
        assertEquals(0, p.status, p.err);
        assertEquals("", p.err);
        return p.out;
    }

    @Test
    void theJdkFoundIsRememberedAndUsedWithoutASearch() throws Exception {
        String expected = expected();
        assertTrue(Files.notExists(cache), "a JAVA_HOME that is a JDK 25 needs no search, so nothing is cached");
        Proc first = launch(null);
        assumeTrue(first.status == 0 || !first.err.contains("needs a JDK 25"), "no JDK 25 to find");
        assertEquals(0, first.status, first.err);
        assertEquals(expected, first.out);
        String remembered = Files.readString(cache).strip();
        assertTrue(Files.isExecutable(Path.of(remembered)), remembered);

        // the remembered java is the one run: a fake JDK 25 in the cache proves that no search happened
        remember(fakeJdk("jdk-fake", "25.0.1"));
        Proc cached = launch(null);
        assertEquals(0, cached.status, cached.err);
        assertEquals("fake jdk-fake\n", cached.out);
        // a JAVA_HOME that is not a JDK 25 is passed over, as before: the cache still answers
        Proc old = launch(fakeJdk("jdk-old", "17.0.9").getParent().getParent().toString());
        assertEquals("fake jdk-fake\n", old.out);
    }

    @Test
    void javaHomeWinsOverTheCache() throws Exception {
        String expected = expected();
        remember(fakeJdk("jdk-fake", "25.0.1"));
        Proc p = launch(System.getProperty("java.home"));
        assertEquals(0, p.status, p.err);
        assertEquals(expected, p.out);
        assertEquals(dir.resolve("jdk-fake/bin/java") + "\n", Files.readString(cache),
                "a JAVA_HOME that is a JDK 25 leaves the cache as it is");
    }

    @Test
    void aStaleCacheIsSearchedAgainAndRewritten() throws Exception {
        String expected = expected();
        Path removed = fakeJdk("jdk-removed", "25.0.1");
        Path older = fakeJdk("jdk-now-17", "17.0.9");
        Path touched = fakeJdk("jdk-touched", "25.0.1");
        Map<String, String> stale = new HashMap<>();
        stale.put("a removed JDK", removed.toString());
        stale.put("a JDK whose release now says 17", older.toString());
        stale.put("a java newer than the cache", touched.toString());
        stale.put("a relative path", "jdk-fake/bin/java");
        stale.put("a folder", dir.toString());
        stale.put("an empty file", "");
        for (Map.Entry<String, String> e : stale.entrySet()) {
            Files.writeString(cache, e.getValue() + "\n");
            if (e.getKey().equals("a removed JDK")) {
                Files.delete(removed);
            }
            if (e.getKey().equals("a java newer than the cache")) {
                Files.setLastModifiedTime(touched, FileTime.from(Instant.now().plusSeconds(3600)));
            }
            Proc p = launch(null);
            assertEquals(0, p.status, e.getKey() + ": " + p.err);
            assertEquals("", p.err, e.getKey());
            assertEquals(expected, p.out, e.getKey());
            String now = Files.readString(cache).strip();
            assertNotEquals(e.getValue(), now, e.getKey() + ": the cache is rewritten");
            assertTrue(Files.isExecutable(Path.of(now)), e.getKey() + ": " + now);
        }
    }

    // ---- the AOT cache -----------------------------------------------------------------------------

    /** The options the launcher gave a fake JDK 25 (its java prints them, one a line), given the AOT files. */
    List<String> jvmOptions(Map<String, String> env) throws Exception {
        return jvmOptions(env, "cross-entropy", "--input", "x.npy", "--target", "t.npy");
    }

    /** {@link #jvmOptions(Map)} for the command line {@code args}. */
    List<String> jvmOptions(Map<String, String> env, String... args) throws Exception {
        Path java = dir.resolve("jdk-args/bin/java");
        Proc p = launch(java.getParent().getParent().toString(), env, args);
        assertEquals(0, p.status, p.err);
        assertEquals("", p.err);
        return p.out.lines().takeWhile(l -> !l.equals("-jar")).toList();
    }

    /**
     * Writes the AOT cache file of a run without the incubator module (the test's small input
     * starts so) and the JDK's identity; its content does not matter to the launcher.
     */
    void aot(Path home, String runtimeVersion) throws IOException {
        aot("vecloss-scalar.aot", home, runtimeVersion);
    }

    /** {@link #aot(Path, String)} for the cache {@code target/NAME}. */
    void aot(String name, Path home, String runtimeVersion) throws IOException {
        Path aot = root.resolve("target").resolve(name);
        Files.writeString(aot, "not a real cache");
        Files.writeString(Path.of(aot + ".jdk"), home.toRealPath() + "\n" + runtimeVersion + "\n");
    }

    @Test
    void theAotCacheIsUsedOnlyWithTheJdkAndJarThatMadeIt() throws Exception {
        Path java = fakeJdk("jdk-args", "25.0.1", "for a; do printf '%s\\n' \"$a\"; done");
        Path home = java.getParent().getParent();
        String aotOption = "-XX:AOTCache=" + root.toRealPath().resolve("target/vecloss-scalar.aot");
        List<String> plain = jvmOptions(Map.of());
        assertTrue(plain.stream().noneMatch(o -> o.startsWith("-XX:AOTCache")), "no cache, no option");
        // a short run's options, unless the user's choose a collector (two would stop the JVM)
        assertTrue(plain.contains("-XX:+UseSerialGC") && plain.contains("-XX:-UsePerfData"), plain.toString());
        List<String> parallel = jvmOptions(Map.of("VECLOSS_OPTS", "-Xmx1g -XX:+UseParallelGC"));
        assertTrue(!parallel.contains("-XX:+UseSerialGC") && parallel.contains("-XX:+UseParallelGC"), parallel.toString());
        assertTrue(!jvmOptions(Map.of("JAVA_TOOL_OPTIONS", "-XX:+UseZGC")).contains("-XX:+UseSerialGC"));

        aot(home, "25.0.1+1");
        List<String> used = jvmOptions(Map.of());
        assertTrue(used.contains(aotOption), used.toString());
        // the JVM's own AOT/CDS lines (on stdout) are off, before VECLOSS_OPTS so they can be turned on again
        assertTrue(used.contains("-Xlog:aot*=off") && used.contains("-Xlog:cds*=off"), used.toString());
        List<String> withOpts = jvmOptions(Map.of("VECLOSS_OPTS", "-Xlog:aot"));
        assertTrue(withOpts.indexOf("-Xlog:aot") > withOpts.indexOf("-Xlog:aot*=off"), withOpts.toString());

        // options that cannot go with an AOT cache leave it out (the JVM would refuse to start)
        for (String opt : List.of("-Xshare:off", "-XX:SharedArchiveFile=a.jsa", "-XX:AOTMode=off",
                "-XX:AOTCache=other.aot", "-XX:+AutoCreateSharedArchive")) {
            assertTrue(jvmOptions(Map.of("VECLOSS_OPTS", opt)).stream().noneMatch(o -> o.equals(aotOption)), opt);
            assertTrue(jvmOptions(Map.of("JAVA_TOOL_OPTIONS", opt)).stream().noneMatch(o -> o.equals(aotOption)),
                    opt);
        }
        // another JDK's cache, or another build of this one
        aot(dir, "25.0.1+1");
        assertTrue(!jvmOptions(Map.of()).contains(aotOption), "another JDK's home");
        aot(home, "25.0.2+7");
        assertTrue(!jvmOptions(Map.of()).contains(aotOption), "another runtime version");
        // a jar newer than the cache: rebuilt since
        aot(home, "25.0.1+1");
        Path aot = root.resolve("target/vecloss-scalar.aot");
        try (Stream<Path> s = Files.list(root.resolve("target"))) {
            Path jar = s.filter(p -> p.toString().endsWith(".jar")).findFirst().orElseThrow();
            Files.setLastModifiedTime(aot, FileTime.from(Instant.now().minusSeconds(60)));
            Files.setLastModifiedTime(jar, FileTime.from(Instant.now()));
        }
        assertTrue(!jvmOptions(Map.of()).contains(aotOption), "a jar newer than the cache");
        Files.setLastModifiedTime(aot, FileTime.from(Instant.now().plusSeconds(60)));
        assertTrue(jvmOptions(Map.of()).contains(aotOption), "the cache newer again");
        Files.delete(root.resolve("target/vecloss-scalar.aot.jdk"));
        assertTrue(!jvmOptions(Map.of()).contains(aotOption), "no identity file");

        // a run with the incubator module takes the other cache, made with it
        String moduleAot = "-XX:AOTCache=" + root.toRealPath().resolve("target/vecloss.aot");
        aot(home, "25.0.1+1");
        List<String> panama = jvmOptions(Map.of("VECLOSS_OPTS", "-Dvecloss.impl=panama"));
        assertTrue(!panama.contains(aotOption) && !panama.contains(moduleAot), panama.toString());
        aot("vecloss.aot", home, "25.0.1+1");
        panama = jvmOptions(Map.of("VECLOSS_OPTS", "-Dvecloss.impl=panama"));
        assertTrue(panama.contains(moduleAot) && !panama.contains(aotOption), panama.toString());
        assertTrue(jvmOptions(Map.of()).contains(aotOption), "a small input still takes its own");
    }

    /** A sparse {@code .npy} file of {@code bytes} bytes whose header says {@code descr}. */
    Path sparseNpy(String name, String descr, long bytes) throws IOException {
        Path p = dir.resolve(name);
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + bytes / 8 + ",), }";
        String header = (dict + " ".repeat(128)).substring(0, 127 - 10) + "\n";
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(p.toFile(), "rw")) {
            f.write(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (byte) (header.length() & 0xff), 0});
            f.write(header.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            f.setLength(bytes);
        }
        return p;
    }

    /**
     * A loss whose one input has fewer than 2^28 elements by its size and dtype starts without
     * the incubator module (the scalar kernels run it either way) and says so to vecloss;
     * every other run has the module: a larger input, an unknown dtype counted as one byte an
     * element, several shards, {@code bench}, and options of the user's that name the kernels
     * or the modules.
     */
    @Test
    void anInputOfFewerThan2To27ElementsStartsWithoutTheVectorModule() throws Exception {
        fakeJdk("jdk-args", "25.0.1", "for a; do printf '%s\\n' \"$a\"; done");
        String module = "--add-modules", scalarOnly = "-Dvecloss.launcher.scalarOnly=true";
        List<String> small = jvmOptions(Map.of());
        assertTrue(small.contains(scalarOnly) && !small.contains(module), small.toString());
        // by the dtype's item size: 2^28 elements of float32 are 1 GB, of float64 2 GB
        sparseNpy("f4.npy", "<f4", (1L << 30) - 4096);
        sparseNpy("f4big.npy", "<f4", 1L << 30);
        sparseNpy("f8.npy", "<f8", (1L << 31) - 4096);
        sparseNpy("u1.npy", "|u1", 1L << 28);
        sparseNpy("u1small.npy", "|u1", (1L << 28) - 4096);
        for (String[] c : new String[][] {{"f4.npy", "y"}, {"f4big.npy", "n"}, {"f8.npy", "y"}, {"u1.npy", "n"},
                {"u1small.npy", "y"}}) {
            List<String> o = jvmOptions(Map.of(), "cross-entropy", "--input", c[0], "--target", "t.npy");
            assertEquals(c[1].equals("y"), o.contains(scalarOnly), c[0] + ": " + o);
            assertEquals(!c[1].equals("y"), o.contains(module), c[0] + ": " + o);
        }
        for (List<String> args : List.of(List.of("bench", "--input", "x.npy"),
                List.of("cross-entropy", "--input", "x.npy", "x.npy", "--target", "t.npy", "t.npy"),
                List.of("cross-entropy", "--input", dir.toString(), "--target", "t.npy"),
                List.of("--help"))) {
            List<String> o = jvmOptions(Map.of(), args.toArray(String[]::new));
            assertTrue(o.contains(module) && !o.contains(scalarOnly), args + ": " + o);
        }
        for (String opt : List.of("-Dvecloss.impl=scalar", "-Dvecloss.impl=panama", "--add-modules=jdk.incubator.vector",
                "--limit-modules=java.base", "-Dvecloss.launcher.scalarOnly=false")) {
            List<String> o = jvmOptions(Map.of("VECLOSS_OPTS", opt));
            assertTrue(!o.contains(scalarOnly), opt + ": " + o);
            assertTrue(o.contains(module), opt + ": " + o);
        }
    }

    /**
     * A loss on an input file under 16 MB runs with C1 alone (the scalar kernels run it either
     * way); not a larger one, not {@code bench}, not when the user's options name the kernels or
     * the compiler.
     */
    @Test
    void aSmallInputRunsWithC1Alone() throws Exception {
        fakeJdk("jdk-args", "25.0.1", "for a; do printf '%s\\n' \"$a\"; done");
        String c1 = "-XX:TieredStopAtLevel=1";
        assertTrue(jvmOptions(Map.of()).contains(c1));
        assertTrue(jvmOptions(Map.of(), "-v", "nll-loss", "--target", "t.npy", "--input=x.npy").contains(c1));
        try (java.io.RandomAccessFile big = new java.io.RandomAccessFile(dir.resolve("big.npy").toFile(), "rw")) {
            big.setLength(16L << 20); // sparse: 16 MB
        }
        assertTrue(!jvmOptions(Map.of(), "cross-entropy", "--input", "big.npy", "--target", "t.npy").contains(c1));
        assertTrue(!jvmOptions(Map.of(), "-v", "bench", "--input", "x.npy").contains(c1));
        assertTrue(!jvmOptions(Map.of(), "cross-entropy", "--input", "missing.npy").contains(c1));
        for (String opt : List.of("-Dvecloss.impl=panama", "-Dvecloss.impl=scalar", "-XX:-TieredCompilation",
                "-XX:TieredStopAtLevel=4", "-Xint", "-XX:CompileThresholdScaling=0.5")) {
            assertTrue(!jvmOptions(Map.of("VECLOSS_OPTS", opt)).contains(c1), opt);
        }
    }

    /**
     * With the real JVM: the build's cache, when there is one for this JVM, gives the same result
     * and nothing on stderr; a damaged cache that the JVM refuses does not either (its messages,
     * which go to stdout, are off).
     */
    @Test
    void aRealOrDamagedCacheChangesNothingVisible() throws Exception {
        String expected = expected();
        Path built = Path.of(System.getProperty("basedir", System.getProperty("user.dir")), "target/vecloss.aot");
        Path aot = root.resolve("target/vecloss.aot");
        if (Files.exists(built) && Files.exists(Path.of(built + ".jdk"))) {
            Files.copy(built, aot);
            Files.copy(Path.of(built + ".jdk"), Path.of(aot + ".jdk"));
            Proc p = launch(System.getProperty("java.home"));
            assertEquals(0, p.status, p.err);
            assertEquals("", p.err);
            assertEquals(expected, p.out);
        }
        Files.write(aot, new byte[100_000]);
        Files.writeString(Path.of(aot + ".jdk"), Path.of(System.getProperty("java.home")).toRealPath() + "\n"
                + System.getProperty("java.runtime.version") + "\n");
        Proc p = launch(System.getProperty("java.home"), Map.of("VECLOSS_OPTS", "-Dvecloss.test=1"));
        assertEquals(0, p.status, p.err);
        assertEquals("", p.err);
        assertEquals(expected, p.out);
    }
}
