package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;

/**
 * The functions jar that {@code sam build} deploys carries the admin page's chart library (the
 * WebJar's minified script, its stylesheet and the version file the admin function reads), and
 * none of the WebJar's other builds. An IT: the jar is made by the functions module's package phase.
 */
class ChartLibraryShippedIT {

    @Test
    void functionsJar_carriesTheServedChartLibrary_andNotItsOtherBuilds() throws IOException {
        String value = System.getProperty("ferry.functions.jar");
        assertTrue(value != null && Files.exists(Path.of(value)), "the functions jar (ferry.functions.jar): " + value);
        try (JarFile jar = new JarFile(value)) {
            List<String> names = jar.stream().map(java.util.jar.JarEntry::getName)
                    .filter(name -> name.contains("uplot") && !name.endsWith("/")).sorted().toList();
            String version = names.stream().filter(name -> name.endsWith("/LICENSE")).findFirst().orElseThrow()
                    .replaceAll(".*/uplot/([^/]+)/LICENSE", "$1");
            String dist = "META-INF/resources/webjars/uplot/" + version + "/";
            assertEquals(List.of("META-INF/maven/org.webjars.npm/uplot/pom.properties", dist + "LICENSE",
                    dist + "dist/uPlot.iife.min.js", dist + "dist/uPlot.min.css"), names);
        }
    }
}
