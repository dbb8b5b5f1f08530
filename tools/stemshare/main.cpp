// The `stemshare` command-line tool. Each subcommand lives in its own <name>_command.hpp.
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include <stemshare/core/error.hpp>

#include "demo_command.hpp"
#ifdef STEMSHARE_WITH_EKYA_COMMAND
#include "ekya_command.hpp"
#endif
#include "masa_command.hpp"
#include "plan_command.hpp"
#include "profile_command.hpp"
#ifdef STEMSHARE_WITH_VIDEO
#include "run_command.hpp"
#endif
#include "train_command.hpp"

int main(int argc, char** argv) {
    CLI::App app{"stemshare: shared DNN stems for multi-app video analytics"};
    app.require_subcommand(1);
    stemshare::tools::register_demo_command(app);
#ifdef STEMSHARE_WITH_EKYA_COMMAND
    stemshare::tools::register_ekya_command(app);
#endif
    stemshare::tools::register_masa_command(app);
    stemshare::tools::register_plan_command(app);
    stemshare::tools::register_profile_command(app);
#ifdef STEMSHARE_WITH_VIDEO
    stemshare::tools::register_run_command(app);
#endif
    stemshare::tools::register_train_command(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const std::exception& e) {
        std::cerr << "stemshare: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
